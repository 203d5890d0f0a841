/**
 * The shipped owner policy end to end: the app's own permission backend and policy module
 * (not mocked decisions), the stores plugin, the catalog with the stores entity provider,
 * and two real user identities from the example organisation (examples/org.yaml), with the
 * ownership refs that sign-in resolves from it.
 */
import { schedulerServiceFactory } from '@backstage/backend-defaults/scheduler';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { mockCredentials } from '@backstage/backend-test-utils';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import { catalogEntityCreatePermission } from '@backstage/plugin-catalog-common/alpha';
import {
  kubernetesProxyPermission,
  kubernetesResourcesReadPermission,
} from '@backstage/plugin-kubernetes-common';
import {
  AuthorizeResult,
  Permission,
} from '@backstage/plugin-permission-common';
import permissionPlugin from '@backstage/plugin-permission-backend';
import catalogStoresModule from '@storeplane/plugin-catalog-backend-module-stores';
import storesPolicyModule from '@storeplane/plugin-permission-backend-module-stores-policy';
import storesPlugin from '@storeplane/plugin-stores-backend';
import {
  authWithActorsServiceFactory,
  FakeKubernetesApi,
  FAKE_KUBE_SERVER,
  testConfigData,
  waitFor,
} from '@internal/stores-test-utils';
import { setupServer } from 'msw/node';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { parseAllDocuments } from 'yaml';

const repoRoot = path.resolve(__dirname, '../../..');
const orgFile = path.join(repoRoot, 'examples/org.yaml');

/** Ownership refs as sign-in resolves them from the example org: the user and its groups. */
function ownershipFromOrg(): Map<string, string[]> {
  const users = parseAllDocuments(readFileSync(orgFile, 'utf8'))
    .map(doc => doc.toJS())
    .filter(entity => entity?.kind === 'User');
  return new Map(
    users.map(user => {
      const ref = `user:default/${user.metadata.name}`;
      const groups = (user.spec.memberOf ?? []).map(
        (group: string) => `group:default/${group}`,
      );
      return [ref, [ref, ...groups]];
    }),
  );
}

const fake = new FakeKubernetesApi();
const server = setupServer(...fake.handlers());
beforeAll(() => server.listen({ onUnhandledRequest: 'bypass' }));
afterAll(() => server.close());

// A: member of shop-team. B: platform-team, not an owner. Admin: in platform-admins.
const A = mockCredentials.user.header('user:default/sam');
const B = mockCredentials.user.header('user:default/bob');
const ADMIN = mockCredentials.user.header('user:default/ada');

describe('the shipped owner policy', () => {
  jest.setTimeout(90_000);

  it('lets everyone see stores and only owners and admins change them; the catalog keeps them', async () => {
    const ownership = ownershipFromOrg();
    expect(ownership.get('user:default/ada')).toContain(
      'group:default/platform-admins',
    );
    const { server: app } = await startTestBackend({
      features: [
        storesPlugin,
        catalogPlugin,
        catalogStoresModule,
        permissionPlugin,
        storesPolicyModule,
        schedulerServiceFactory,
        authWithActorsServiceFactory,
        mockServices.userInfo.mock({
          getUserInfo: async credentials => {
            const ref = (credentials.principal as { userEntityRef: string })
              .userEntityRef;
            return {
              userEntityRef: ref,
              ownershipEntityRefs: ownership.get(ref) ?? [ref],
            };
          },
        }).factory,
        mockServices.rootConfig.factory({
          data: {
            permission: { enabled: true },
            ...testConfigData({
              kubernetes: {
                source: 'url',
                url: FAKE_KUBE_SERVER,
                token: 'test',
                skipTLSVerify: true,
              },
              // The shipped admin group (app-config.yaml).
              permissions: { admins: ['group:default/platform-admins'] },
            }),
            catalog: {
              providers: {
                storeplane: {
                  schedule: {
                    frequency: { seconds: 1 },
                    timeout: { seconds: 30 },
                  },
                },
              },
              processingInterval: { seconds: 1 },
              rules: [{ allow: ['User', 'Group', 'Resource', 'System'] }],
              locations: [{ type: 'file', target: orgFile }],
            },
          },
        }),
      ],
    });

    await waitFor('the example org in the catalog', async () => {
      const res = await request(app)
        .get('/api/catalog/entities/by-name/group/default/shop-team')
        .set('Authorization', A);
      return res.status === 200 ? true : undefined;
    });

    // The first apply of each store's namespace is refused for good, so both stores are
    // Failed (and can be retried) without a cluster.
    fake.injectFault(
      { status: 403, message: 'namespaces is forbidden' },
      2,
      (method, urlPath) =>
        method === 'PATCH' &&
        /\/api\/v1\/namespaces\/store-[^/]+$/.test(urlPath),
    );
    const create = async (name: string) => {
      const res = await request(app)
        .post('/api/stores/stores')
        .set('Authorization', A)
        .send({ name, owner: 'group:default/shop-team', plan: 'small' });
      expect(res.status).toBe(201);
      const id: string = res.body.id;
      await waitFor(`store ${id} to fail`, async () => {
        const store = await request(app)
          .get(`/api/stores/stores/${id}`)
          .set('Authorization', A);
        return store.body.status === 'Failed' ? true : undefined;
      });
      const ns = res.body.namespace;
      fake.objects.set(`Secret/${ns}/storeplane-credentials`, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'storeplane-credentials', namespace: ns },
        data: {
          'admin-username': Buffer.from('admin').toString('base64'),
          'admin-password': Buffer.from('s3cret').toString('base64'),
        },
      });
      return id;
    };
    const teamStore = await create('team-shop');
    const adminCase = await create('admin-case');

    // B sees A's store in the list and its status.
    const list = await request(app)
      .get('/api/stores/stores')
      .set('Authorization', B);
    expect(list.status).toBe(200);
    expect(list.body.items.map((s: any) => s.id).sort()).toEqual(
      [teamStore, adminCase].sort(),
    );
    const status = await request(app)
      .get(`/api/stores/stores/${teamStore}`)
      .set('Authorization', B);
    expect(status.body).toMatchObject({
      status: 'Failed',
      owner: 'group:default/shop-team',
    });

    // B may not delete, retry, read credentials or ask for content suggestions.
    for (const [method, suffix] of [
      ['delete', ''],
      ['post', '/retry'],
      ['get', '/credentials'],
      ['post', '/content-suggestions'],
    ] as const) {
      const res = await request(app)
        [method](`/api/stores/stores/${teamStore}${suffix}`)
        .set('Authorization', B);
      expect(res.status).toBe(403);
      expect(res.body.error.name).toBe('NotAllowedError');
    }

    // A, through its team, may.
    const suggestion = await request(app)
      .post(`/api/stores/stores/${teamStore}/content-suggestions`)
      .set('Authorization', A);
    expect(suggestion.status).toBe(200);
    expect(suggestion.body.products).toHaveLength(3);
    const credentials = await request(app)
      .get(`/api/stores/stores/${teamStore}/credentials`)
      .set('Authorization', A);
    expect(credentials.status).toBe(200);
    expect(credentials.body.adminPassword).toBe('s3cret');
    const retried = await request(app)
      .post(`/api/stores/stores/${teamStore}/retry`)
      .set('Authorization', A);
    expect(retried.status).toBe(200);
    expect(retried.body.status).toBe('Provisioning');

    // An administrator may, on a store that is not theirs.
    const adminCredentials = await request(app)
      .get(`/api/stores/stores/${adminCase}/credentials`)
      .set('Authorization', ADMIN);
    expect(adminCredentials.status).toBe(200);
    const adminRetry = await request(app)
      .post(`/api/stores/stores/${adminCase}/retry`)
      .set('Authorization', ADMIN);
    expect(adminRetry.status).toBe(200);
    const adminDelete = await request(app)
      .delete(`/api/stores/stores/${adminCase}`)
      .set('Authorization', ADMIN);
    expect(adminDelete.status).toBe(202);

    // B cannot create for A's team either, but for its own.
    const spoofed = await request(app)
      .post('/api/stores/stores')
      .set('Authorization', B)
      .send({ name: 'not-mine', owner: 'group:default/shop-team' });
    expect(spoofed.status).toBe(400);

    // The catalog's full sync (every second here) lists stores as the catalog module, a
    // service principal: the entity is there, and stays there sync after sync.
    const entityPath = `/api/catalog/entities/by-name/resource/default/store-${teamStore}`;
    await waitFor('the store entity', async () => {
      const res = await request(app).get(entityPath).set('Authorization', B);
      return res.status === 200 ? true : undefined;
    });
    await new Promise(resolve => setTimeout(resolve, 3_000));
    const entity = await request(app).get(entityPath).set('Authorization', B);
    expect(entity.status).toBe(200);
    expect(entity.body.spec).toMatchObject({
      type: 'woocommerce-store',
      owner: 'group:default/shop-team',
    });

    const deleted = await request(app)
      .delete(`/api/stores/stores/${teamStore}`)
      .set('Authorization', A);
    expect(deleted.status).toBe(202);

    // The Kubernetes plugin's proxy acts with Storeplane's identity on the stores' cluster:
    // administrators only. Its reads (the Kubernetes tab) and other plugins stay allowed.
    const decide = async (authorization: string, permissions: Permission[]) => {
      const res = await request(app)
        .post('/api/permission/authorize')
        .set('Authorization', authorization)
        .send({
          items: permissions.map((permission, i) => ({
            id: String(i),
            permission,
          })),
        });
      expect(res.status).toBe(200);
      return res.body.items.map((item: { result: string }) => item.result);
    };
    const kubernetesAndCatalog = [
      kubernetesProxyPermission,
      kubernetesResourcesReadPermission,
      catalogEntityCreatePermission,
    ];
    expect(await decide(B, kubernetesAndCatalog)).toEqual([
      AuthorizeResult.DENY,
      AuthorizeResult.ALLOW,
      AuthorizeResult.ALLOW,
    ]);
    expect(await decide(ADMIN, kubernetesAndCatalog)).toEqual([
      AuthorizeResult.ALLOW,
      AuthorizeResult.ALLOW,
      AuthorizeResult.ALLOW,
    ]);
  });
});
