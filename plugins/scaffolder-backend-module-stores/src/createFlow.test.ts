import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import {
  FakeKubernetesApi,
  FAKE_KUBE_SERVER,
  testConfigData,
  withoutKubeconfig,
  waitFor,
} from '@internal/stores-test-utils';
import { setupServer } from 'msw/node';
import path from 'node:path';
import request from 'supertest';
import scaffolderPlugin from '@backstage/plugin-scaffolder-backend';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import catalogTemplateModel from '@backstage/plugin-catalog-backend-module-scaffolder-entity-model';
// eslint-disable-next-line @backstage/no-mixed-plugin-imports -- the flow test runs the real stores backend
import storesPlugin from '@storeplane/plugin-stores-backend';
import catalogStoresModule from '@storeplane/plugin-catalog-backend-module-stores';
import scaffolderStoresModule from './module';
import { schedulerServiceFactory } from '@backstage/backend-defaults/scheduler';

// The Kubernetes API is the stores backend's HTTP fake; everything else is real Backstage:
// scaffolder, catalog (with the template loaded from templates/), permissions, stores backend.
const fake = new FakeKubernetesApi();
fake.autoProgress = true;
const server = setupServer(...fake.handlers());
beforeAll(() => server.listen({ onUnhandledRequest: 'bypass' }));
afterAll(() => server.close());

const repoRoot = path.resolve(__dirname, '../../..');
const USER = mockCredentials.user.header('user:default/sam');
// Sam is in shop-team (examples/org.yaml), so may create stores that shop-team owns.
const userInfo = mockServices.userInfo.mock({
  getUserInfo: async () => ({
    userEntityRef: 'user:default/sam',
    ownershipEntityRefs: ['user:default/sam', 'group:default/shop-team'],
  }),
});

describe('create flow: template → scaffolder task → stores backend → catalog', () => {
  jest.setTimeout(120_000);

  /** The real backends with the given storeplane config (over the test defaults). */
  async function startApp(storeplane: Record<string, unknown>) {
    const config = testConfigData({
      reconciler: {
        frequency: { seconds: 1 },
        initialBackoff: { milliseconds: 100 },
        maxBackoff: { seconds: 1 },
        maxAttempts: 4,
      },
      ...storeplane,
    });
    const { server: app } = await startTestBackend({
      features: [
        scaffolderPlugin,
        catalogPlugin,
        catalogTemplateModel,
        storesPlugin,
        catalogStoresModule,
        scaffolderStoresModule,
        // The real scheduler, so the reconciler and catalog sync run on their schedules.
        schedulerServiceFactory,
        userInfo.factory,
        mockServices.rootConfig.factory({
          data: {
            ...config,
            catalog: {
              providers: {
                storeplane: {
                  schedule: {
                    frequency: { seconds: 2 },
                    timeout: { seconds: 30 },
                  },
                },
              },
              processingInterval: { seconds: 1 },
              rules: [
                {
                  allow: [
                    'Template',
                    'Resource',
                    'System',
                    'Group',
                    'User',
                    'Component',
                  ],
                },
              ],
              locations: [
                {
                  type: 'file',
                  target: path.join(
                    repoRoot,
                    'templates/woocommerce-store/template.yaml',
                  ),
                },
                // Owners must exist in the catalog.
                {
                  type: 'file',
                  target: path.join(repoRoot, 'examples/org.yaml'),
                },
              ],
            },
          },
        }),
      ],
    });
    await waitFor('the template and the owner in the catalog', async () => {
      const template = await request(app)
        .get('/api/catalog/entities/by-name/template/default/woocommerce-store')
        .set('Authorization', USER);
      const owner = await request(app)
        .get('/api/catalog/entities/by-name/group/default/shop-team')
        .set('Authorization', USER);
      return template.status === 200 && owner.status === 200 ? true : undefined;
    });
    return app;
  }

  /** Runs the template; resolves with the finished task and its log lines. */
  async function runTemplate(
    app: Awaited<ReturnType<typeof startApp>>,
    name: string,
  ) {
    const created = await request(app)
      .post('/api/scaffolder/v2/tasks')
      .set('Authorization', USER)
      .send({
        templateRef: 'template:default/woocommerce-store',
        values: {
          name,
          owner: 'group:default/shop-team',
          plan: 'small',
          engine: 'woocommerce',
          description: 'From the test',
        },
      });
    expect(created.status).toBe(201);
    const taskId = created.body.id;

    const taskLog = async () => {
      const log = await request(app)
        .get(`/api/scaffolder/v2/tasks/${taskId}/events`)
        .set('Authorization', USER);
      return (log.body as any[])
        .filter(e => e.type === 'log')
        .map(e => e.body.message as string);
    };
    const task = await waitFor(
      'the task to finish',
      async () => {
        const res = await request(app)
          .get(`/api/scaffolder/v2/tasks/${taskId}`)
          .set('Authorization', USER);
        return ['completed', 'failed', 'cancelled'].includes(res.body.status)
          ? res.body
          : undefined;
      },
      90_000,
    ).catch(async error => {
      throw new Error(
        `${error.message}; task log so far:\n${(await taskLog()).join('\n')}`,
      );
    });
    return { task, taskId, lines: await taskLog() };
  }

  it('runs the WooCommerce template to a Ready store with its catalog entity', async () => {
    const app = await startApp({
      kubernetes: {
        source: 'url',
        url: FAKE_KUBE_SERVER,
        token: 'test',
        skipTLSVerify: true,
      },
    });
    const { task, taskId, lines } = await runTemplate(app, 'flow-shop');
    // Printed so the CI log shows one task from start to Ready.
    process.stdout.write(
      `\nScaffolder task log:\n${lines.map(l => `  ${l}`).join('\n')}\n`,
    );
    expect(task.status).toBe('completed');

    const events = await request(app)
      .get(`/api/scaffolder/v2/tasks/${taskId}/events`)
      .set('Authorization', USER);
    const completion = (events.body as any[]).find(
      e => e.type === 'completion',
    );
    const links = completion.body.output.links as Array<{
      title: string;
      url?: string;
      entityRef?: string;
    }>;
    const storefront = links.find(l => l.title === 'Storefront')!.url!;
    expect(storefront).toMatch(
      /^http:\/\/store-flow-shop-[a-z0-9]{5}\.stores\.example\.com$/,
    );
    const entityRef = links.find(l => l.entityRef)!.entityRef!;
    expect(entityRef).toMatch(
      /^resource:default\/store-flow-shop-[a-z0-9]{5}$/,
    );
    expect(lines.some(l => /Ready/.test(l))).toBe(true);

    const stores = await request(app)
      .get('/api/stores/stores')
      .set('Authorization', USER);
    expect(stores.body.items).toHaveLength(1);
    expect(stores.body.items[0]).toMatchObject({
      status: 'Ready',
      owner: 'group:default/shop-team',
      createdBy: 'user:default/sam',
      engine: 'woocommerce',
      description: 'From the test',
    });

    const entity = await waitFor(
      'the store entity in the catalog',
      async () => {
        const name = entityRef.split('/')[1];
        const res = await request(app)
          .get(`/api/catalog/entities/by-name/resource/default/${name}`)
          .set('Authorization', USER);
        return res.status === 200 &&
          res.body.metadata.labels?.['storeplane.io/status'] === 'ready'
          ? res.body
          : undefined;
      },
    );
    expect(entity.spec).toMatchObject({
      type: 'woocommerce-store',
      owner: 'group:default/shop-team',
      system: 'storeplane',
    });
    expect(entity.metadata.annotations['storeplane.io/store-id']).toBe(
      stores.body.items[0].id,
    );
    expect(entity.metadata.links.map((l: any) => l.url)).toContain(storefront);
  });

  describe('on a machine without any kubeconfig', () => {
    withoutKubeconfig({ once: true });

    it('ends the task with the reason, keeps the store waiting, and deletes it at once', async () => {
      // The shipped default: storeplane.kubernetes.source kubeconfig, nothing else.
      const app = await startApp({});
      const started = Date.now();
      const { task, lines } = await runTemplate(app, 'no-cluster-shop');
      expect(task.status).toBe('failed');
      // Not the action's 20-minute timeout: it stops on the store's own event.
      expect(Date.now() - started).toBeLessThan(30_000);
      const reason = lines.find(l => /cannot be provisioned now/.test(l));
      expect(reason).toMatch(
        /cannot be provisioned now: No Kubernetes cluster is configured: there is no kubeconfig \(.*KUBECONFIG are unset.*\)\. .*\.\/scripts\/dev\.sh --sandbox.* It stays Provisioning and continues by itself once a cluster is configured/,
      );

      const list = await request(app)
        .get('/api/stores/stores')
        .set('Authorization', USER);
      const store = list.body.items[0];
      expect(store).toMatchObject({
        name: 'no-cluster-shop',
        status: 'Provisioning',
        step: 'guardrails',
        attempts: 0,
      });
      const events = await request(app)
        .get(`/api/stores/stores/${store.id}/events`)
        .set('Authorization', USER);
      expect(events.body.items.map((e: any) => e.type)).toEqual([
        'cluster.unconfigured',
        'requested',
      ]);

      const deleted = await request(app)
        .delete(`/api/stores/stores/${store.id}`)
        .set('Authorization', USER);
      expect(deleted.status).toBeLessThan(300);
      await waitFor('the store to be gone', async () => {
        const res = await request(app)
          .get(`/api/stores/stores/${store.id}`)
          .set('Authorization', USER);
        return res.status === 404 ? true : undefined;
      });
    });
  });
});
