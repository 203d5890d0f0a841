import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import permissionPlugin from '@backstage/plugin-permission-backend';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import storesPolicyModule from '@storeplane/plugin-permission-backend-module-stores-policy';
import { Knex } from 'knex';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import request from 'supertest';
import { createServiceFactory } from '@backstage/backend-plugin-api';
import {
  SignalPayload,
  signalsServiceRef,
} from '@backstage/plugin-signals-node';
import { StoreRepository } from '../database/StoreRepository';
import { storesPlugin } from '../plugin';
import {
  FakeKubernetesApi,
  FAKE_KUBE_SERVER,
  testConfigData,
  authWithActorsServiceFactory,
} from '@internal/stores-test-utils';
import { storeTestDatabases } from '../__testUtils__/databases';
import { ConfigReader } from '@backstage/config';
import { readStoresConfig } from '../config/readStoresConfig';
import { createWooCommerceEngine } from '../engines/woocommerceEngine';
import { resourceQuotaManifest } from '../kubernetes/storeResources';
import {
  IS_STORE_OWNER_RULE,
  STORE_RESOURCE_TYPE,
} from '@storeplane/plugin-stores-common';

// Requests to the test backend itself (supertest) must pass through msw untouched.
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'bypass' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const databases = storeTestDatabases();

const ANN = mockCredentials.user.header('user:default/ann');
const BOB = mockCredentials.user.header('user:default/bob');
const ADA = mockCredentials.user.header('user:default/ada');
const valid = {
  name: 'Summer Sale',
  owner: 'group:default/team-a',
  plan: 'small',
};

/** The example organisation: who belongs to which group, as sign-in would resolve it. */
const memberships: Record<string, string[]> = {
  'user:default/ann': ['group:default/team-a'],
  'user:default/bob': ['group:default/team-b'],
  'user:default/ada': ['group:default/platform-admins'],
};
const userInfo = mockServices.userInfo.mock({
  getUserInfo: async credentials => {
    const ref = (credentials.principal as { userEntityRef: string })
      .userEntityRef;
    return {
      userEntityRef: ref,
      ownershipEntityRefs: [ref, ...(memberships[ref] ?? [])],
    };
  },
});

const entity = (kind: 'User' | 'Group', name: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind,
  metadata: { name, namespace: 'default' },
  spec: kind === 'Group' ? { type: 'team', children: [] } : {},
});
const catalogEntities = [
  entity('User', 'ann'),
  entity('User', 'bob'),
  entity('User', 'ada'),
  entity('Group', 'team-a'),
  entity('Group', 'team-b'),
  entity('Group', 'platform-admins'),
];

async function startBackend(
  options: {
    knex?: Knex;
    limits?: Record<string, unknown>;
    permissions?: ReturnType<typeof mockServices.permissions.mock>;
    auditor?: ReturnType<typeof mockServices.auditor.mock>;
    allowedServices?: string[];
    signals?: SignalPayload[];
    ai?: Record<string, unknown>;
    cost?: Record<string, unknown>;
  } = {},
) {
  const { server: app } = await startTestBackend({
    features: [
      storesPlugin,
      mockServices.rootConfig.factory({
        data: {
          // The shipped policy through the real permission backend, unless a test mocks
          // the decisions.
          permission: { enabled: true },
          ...testConfigData({
            kubernetes: {
              source: 'url',
              url: FAKE_KUBE_SERVER,
              token: 'test',
              skipTLSVerify: true,
            },
            // The reconciler and its watches are exercised elsewhere; keep them out of the way
            // (a watch's requests would also take faults a test injects into the fake).
            reconciler: { frequency: { hours: 1 }, watch: { enabled: false } },
            permissions: {
              admins: ['group:default/platform-admins'],
              allowedServices: options.allowedServices ?? [],
            },
            ...(options.limits ? { limits: options.limits } : {}),
            ...(options.ai ? { ai: options.ai } : {}),
            ...(options.cost ? { cost: options.cost } : {}),
          }),
        },
      }),
      authWithActorsServiceFactory,
      userInfo.factory,
      catalogServiceMock.factory({ entities: catalogEntities }),
      ...(options.knex
        ? [mockServices.database.factory({ knex: options.knex })]
        : []),
      ...(options.permissions
        ? [options.permissions.factory]
        : [permissionPlugin, storesPolicyModule]),
      ...(options.auditor ? [options.auditor.factory] : []),
      ...(options.signals
        ? [
            createServiceFactory({
              service: signalsServiceRef,
              deps: {},
              factory: () => ({
                publish: async (signal: SignalPayload) =>
                  void options.signals!.push(signal),
              }),
            }),
          ]
        : []),
    ],
  });
  return app;
}

describe.each(databases.eachSupportedId())(
  'stores router on %s',
  databaseId => {
    let fake: FakeKubernetesApi;
    let knex: Knex;
    beforeEach(async () => {
      fake = new FakeKubernetesApi();
      server.use(...fake.handlers());
      knex = await databases.init(databaseId);
    });
    const start = (options: Parameters<typeof startBackend>[0] = {}) =>
      startBackend({ ...options, knex });

    it('signals every change on the store channel and the list channel, with no store data', async () => {
      const signals: SignalPayload[] = [];
      const app = await start({ signals });
      const created = await request(app)
        .post('/api/stores/stores')
        .set('Authorization', ANN)
        .send(valid);
      await request(app)
        .delete(`/api/stores/stores/${created.body.id}`)
        .set('Authorization', ANN);
      const channels = signals.map(s => s.channel);
      expect(channels).toEqual(
        expect.arrayContaining([
          `storeplane:store:${created.body.id}`,
          'storeplane:stores',
        ]),
      );
      for (const signal of signals) {
        expect(signal.recipients).toEqual({ type: 'broadcast' });
        expect(Object.keys(signal.message)).toEqual(['at']);
      }
    });

    it('requires authentication on every route', async () => {
      const app = await start();
      for (const [method, path] of [
        ['get', '/api/stores/stores'],
        ['post', '/api/stores/stores'],
        ['get', '/api/stores/stores/x'],
        ['delete', '/api/stores/stores/x'],
        ['get', '/api/stores/plans'],
        ['get', '/api/stores/plan-costs'],
        ['get', '/api/stores/costs/by-owner'],
        ['post', '/api/stores/stores/x/content-suggestions'],
        ['post', '/api/stores/content-suggestions'],
        ['get', '/api/stores/stores/x/domain'],
        ['post', '/api/stores/stores/x/domain'],
        ['delete', '/api/stores/stores/x/domain'],
        ['get', '/api/stores/stores/x/backups'],
        ['post', '/api/stores/stores/x/backups'],
        ['get', '/api/stores/stores/x/backups/b/download'],
        ['post', '/api/stores/stores/x/backups/b/restore'],
        ['get', '/api/stores/rollouts'],
        ['post', '/api/stores/rollouts'],
        ['get', '/api/stores/rollouts/x'],
        ['post', '/api/stores/rollouts/x/abort'],
      ] as const) {
        const res = await request(app)
          [method](path)
          .set('Authorization', mockCredentials.none.header());
        expect(res.status).toBe(401);
      }
    });

    it("suggests content from the configured endpoint to the store's owners only", async () => {
      server.use(
        http.post('http://llm.test/v1/chat/completions', () =>
          HttpResponse.json({
            choices: [
              {
                message: {
                  content: JSON.stringify({
                    title: 'Summer Sale',
                    tagline: 'Sunny deals.',
                    products: [1, 2, 3].map(n => ({
                      name: `Product ${n}`,
                      description: 'Good.',
                      price: n * 10,
                    })),
                  }),
                },
              },
            ],
          }),
        ),
      );
      const app = await start({
        ai: { baseUrl: 'http://llm.test/v1', model: 'test-model' },
      });
      const created = await request(app)
        .post('/api/stores/stores')
        .set('Authorization', ANN)
        .send(valid);
      const path = `/api/stores/stores/${created.body.id}/content-suggestions`;
      for (const owner of [ANN, ADA]) {
        const res = await request(app).post(path).set('Authorization', owner);
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({
          source: 'ai',
          model: 'test-model',
          tagline: 'Sunny deals.',
        });
        expect(res.body.products[2].price).toBe('30.00');
      }
      const other = await request(app).post(path).set('Authorization', BOB);
      expect(other.status).toBe(403);
      expect(other.body.error.message).toMatch(
        /You may not ask for content suggestions for store .* \(storeplane\.store\.content\.suggest\)/,
      );
      const missing = await request(app)
        .post('/api/stores/stores/no-such-store/content-suggestions')
        .set('Authorization', ANN);
      expect(missing.status).toBe(404);
      const badId = await request(app)
        .post('/api/stores/stores/Bad_Id/content-suggestions')
        .set('Authorization', ANN);
      expect(badId.status).toBe(400);
    });

    it('suggests content for a store about to be created, and refuses bad input', async () => {
      const app = await start();
      const ok = await request(app)
        .post('/api/stores/content-suggestions')
        .set('Authorization', BOB)
        .send({ name: 'corner-bakery', description: 'Bread daily' });
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({
        source: 'fallback',
        fallbackReason: 'No storeplane.ai endpoint is configured.',
        title: 'Corner Bakery',
      });
      expect(ok.body.products).toHaveLength(3);
      for (const [body, message] of [
        [{}, /name/],
        [{ name: '' }, /name/],
        [{ name: 'shop', plan: 'small' }, /plan/],
        [
          { name: 'shop\u0000' },
          /Invalid name: must not contain control characters/,
        ],
        [{ name: 'shop', description: 'x'.repeat(501) }, /description/],
        [{ name: 'shop', description: 'a\u202eb' }, /Invalid description/],
      ] as const) {
        const res = await request(app)
          .post('/api/stores/content-suggestions')
          .set('Authorization', BOB)
          .send(body);
        expect(res.status).toBe(400);
        expect(res.body.error.message).toMatch(message);
      }
      const [{ n }] = await knex('stores').count({ n: '*' });
      expect(Number(n)).toBe(0);
    });

    it('creates, reads, lists and deletes a store', async () => {
      const app = await start();
      const created = await request(app)
        .post('/api/stores/stores')
        .set('Authorization', ANN)
        .send(valid);
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        name: 'summer-sale',
        owner: 'group:default/team-a',
        createdBy: 'user:default/ann',
        plan: 'small',
        engine: 'woocommerce',
        status: 'Provisioning',
        step: 'guardrails',
        storefrontUrl: null,
      });
      expect(created.body.id).toMatch(/^summer-sale-[a-z0-9]{5}$/);
      expect(created.body.entityRef).toBe(
        `resource:default/store-${created.body.id}`,
      );
      const id = created.body.id;

      const one = await request(app)
        .get(`/api/stores/stores/${id}`)
        .set('Authorization', ANN);
      expect(one.status).toBe(200);
      expect(one.body.id).toBe(id);

      const events = await request(app)
        .get(`/api/stores/stores/${id}/events`)
        .set('Authorization', ANN);
      expect(events.body.items.at(-1)).toMatchObject({
        type: 'requested',
        actor: 'user:default/ann',
        level: 'info',
      });

      const links = await request(app)
        .get(`/api/stores/stores/${id}/links`)
        .set('Authorization', ANN);
      expect(links.body).toEqual({
        storefrontUrl: null,
        adminUrl: null,
        entityRef: created.body.entityRef,
      });

      const byEntity = await request(app)
        .get('/api/stores/stores')
        .query({ entityRef: created.body.entityRef })
        .set('Authorization', ANN);
      expect(byEntity.body).toMatchObject({ items: [{ id }] });

      const filtered = await request(app)
        .get('/api/stores/stores?status=Ready')
        .set('Authorization', ANN);
      expect(filtered.body).toMatchObject({
        items: [],
        totalCount: 0,
        totalCountCapped: false,
      });

      const retry = await request(app)
        .post(`/api/stores/stores/${id}/retry`)
        .set('Authorization', ANN);
      expect(retry.status).toBe(409);
      expect(retry.body.error.message).toMatch(
        /only a Failed store can be retried/,
      );

      const deleted = await request(app)
        .delete(`/api/stores/stores/${id}`)
        .set('Authorization', ANN);
      expect(deleted.status).toBe(202);
      expect(deleted.body.status).toBe('Deleting');

      const missing = await request(app)
        .get('/api/stores/stores/nope-12345')
        .set('Authorization', ANN);
      expect(missing.status).toBe(404);
      expect(missing.body.error).toMatchObject({ name: 'NotFoundError' });
    });

    const NUL = String.fromCharCode(0);
    const badInputs: Array<[string, unknown, RegExp, string?]> = [
      [
        'a missing name',
        { owner: 'group:default/team-a' },
        /request\/body must have required property 'name'/,
      ],
      [
        'a name that is not DNS-safe',
        { ...valid, name: 'Shop!' },
        /lowercase letters, digits and dashes/,
      ],
      [
        'a name that is too long',
        { ...valid, name: 'a'.repeat(31) },
        /3 to 30 characters/,
      ],
      [
        'an unknown field',
        { ...valid, replicas: 9 },
        /Unknown field in the request body: replicas; allowed fields are name, owner, plan, engine, description/,
      ],
      [
        'an owner that is not an entity ref',
        { ...valid, owner: 'team-a' },
        /owner must be a full user or group entity ref/,
      ],
      [
        'an unknown plan',
        { ...valid, plan: 'huge' },
        /Unknown plan 'huge'; choose one of: small, large/,
      ],
      [
        'an unknown engine',
        { ...valid, engine: 'medusa' },
        /Unknown engine 'medusa'; installed engines: woocommerce/,
      ],
      ['a body that is not an object', ['x'], /request\/body must be object/],
      [
        'an owner that is another team (spoofed owner)',
        { ...valid, owner: 'group:default/team-b' },
        /owner: you may create stores only for yourself or a group you belong to \(user:default\/ann, group:default\/team-a\); 'group:default\/team-b' is none of them/,
      ],
      [
        'an owner that exists nowhere',
        { ...valid, owner: 'group:default/no-such-team' },
        /owner: you may create stores only for yourself or a group you belong to/,
      ],
      [
        'an owner that exists nowhere, from an administrator',
        { ...valid, owner: 'group:default/no-such-team' },
        /owner: 'group:default\/no-such-team' does not exist in the catalog/,
        ADA,
      ],
      [
        'an owner of 300 characters',
        { ...valid, owner: `group:default/${'a'.repeat(286)}` },
        /request\/body\/owner must NOT have more than 140 characters/,
      ],
      [
        'an owner with a NUL byte',
        { ...valid, owner: `group:default/team-a${NUL}` },
        /owner: owner must not contain control characters \(found U\+0000 at position 21\)/,
      ],
      [
        'a description with a NUL byte',
        { ...valid, description: `Summer${NUL}sale` },
        /description: description must not contain control characters \(found U\+0000 at position 7\); only tabs and line breaks are allowed/,
      ],
      [
        'a description with an escape sequence',
        { ...valid, description: 'red \u001b[31m text' },
        /description: description must not contain control characters \(found U\+001B/,
      ],
      [
        'a description with a right-to-left override',
        { ...valid, description: 'invoice\u202efdp.exe' },
        /description: description must not contain invisible text-direction characters/,
      ],
      [
        'a description of 501 characters',
        { ...valid, description: 'x'.repeat(501) },
        /request\/body\/description must NOT have more than 500 characters/,
      ],
      [
        'a name with a NUL byte',
        { ...valid, name: `shop${NUL}` },
        /name: name must not contain control characters/,
      ],
      [
        'a plan with a control character',
        { ...valid, plan: 'small\u0007' },
        /plan: plan must not contain control characters/,
      ],
      [
        'a name that is a number',
        { ...valid, name: 7 },
        /request\/body\/name must be string/,
      ],
    ];

    describe('refuses bad input with 400 and writes nothing', () => {
      let app: Awaited<ReturnType<typeof startBackend>>;
      beforeAll(async () => {
        app = await startBackend({ knex: await databases.init(databaseId) });
      });
      const storesListed = async () =>
        (await request(app).get('/api/stores/stores').set('Authorization', ADA))
          .body.totalCount;

      it.each(badInputs)('%s', async (_, body, message, caller = ANN) => {
        const res = await request(app)
          .post('/api/stores/stores')
          .set('Authorization', caller)
          .send(body as object);
        expect(res.body.error?.message).toMatch(message);
        expect(res.status).toBe(400);
        expect(res.body.error.name).toBe('InputError');
        expect(await storesListed()).toBe(0);
      });

      it('a body that is not JSON', async () => {
        const res = await request(app)
          .post('/api/stores/stores')
          .set('Authorization', ANN)
          .set('Content-Type', 'application/json')
          .send('{"name": "shop",');
        expect(res.status).toBe(400);
        expect(await storesListed()).toBe(0);
      });

      it.each([
        ['get', `/api/stores/stores/shop%00x`],
        ['get', `/api/stores/stores/${'a'.repeat(300)}`],
        ['get', `/api/stores/stores/Shop_1/events`],
        ['delete', `/api/stores/stores/a%00b`],
        ['post', `/api/stores/stores/a%01b/retry`],
        ['get', `/api/stores/stores/a%00b/credentials`],
        ['get', `/api/stores/stores/a%00b/workloads`],
        ['get', `/api/stores/stores?owner=group:default/a%00b`],
        [
          'get',
          `/api/stores/stores?entityRef=resource:default/store-${'a'.repeat(
            200,
          )}`,
        ],
        ['get', `/api/stores/stores?entityRef=resource:default/store-a%00`],
      ] as const)('%s %s', async (method, path) => {
        const res = await request(app)[method](path).set('Authorization', ADA);
        expect(res.status).toBe(400);
        expect(res.body.error.name).toBe('InputError');
      });
    });

    describe('changes a store (PATCH /stores/:id)', () => {
      let app: Awaited<ReturnType<typeof startBackend>>;
      let id: string;
      beforeAll(async () => {
        app = await startBackend({ knex: await databases.init(databaseId) });
      });
      beforeEach(async () => {
        const created = await request(app)
          .post('/api/stores/stores')
          .set('Authorization', ADA)
          .send({ ...valid, owner: 'group:default/team-a' });
        id = created.body.id;
      });
      const patch = (body: unknown, caller = ANN) =>
        request(app)
          .patch(`/api/stores/stores/${id}`)
          .set('Authorization', caller)
          .send(body as object);
      /** What users asked for; the reconciler moves the rest on meanwhile. */
      const snapshot = async () => {
        const store = (
          await request(app)
            .get(`/api/stores/stores/${id}`)
            .set('Authorization', ADA)
        ).body;
        const events = (
          await request(app)
            .get(`/api/stores/stores/${id}/events`)
            .set('Authorization', ADA)
        ).body.items;
        return {
          displayName: store.displayName,
          plan: store.plan,
          desiredState: store.status === 'Deleting' ? 'absent' : 'present',
          requests: events.filter((e: { actor: string | null }) => e.actor),
        };
      };

      it('renames for an owner, trimmed, with an event naming who did it', async () => {
        const before = await snapshot();
        expect(before.displayName).toBe('summer-sale');
        const res = await patch({ displayName: '  Summer Sale 2026 ☀  ' });
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({
          id,
          name: 'summer-sale',
          displayName: 'Summer Sale 2026 ☀',
        });
        const after = await snapshot();
        expect(after.displayName).toBe('Summer Sale 2026 ☀');
        expect(after.requests[0]).toMatchObject({
          type: 'renamed',
          level: 'info',
          actor: 'user:default/ann',
          message: "Renamed from 'summer-sale' to 'Summer Sale 2026 ☀'",
        });
        // The same name again changes nothing and records nothing.
        expect(
          (await patch({ displayName: 'Summer Sale 2026 ☀' })).status,
        ).toBe(200);
        expect((await snapshot()).requests).toHaveLength(after.requests.length);
      });

      it('lets an administrator rename, and answers 403 to anyone else, changing nothing', async () => {
        const before = await snapshot();
        const denied = await patch({ displayName: 'Mine now' }, BOB);
        expect(denied.status).toBe(403);
        expect(denied.body.error.message).toMatch(
          /You may not change store .*storeplane\.store\.update/,
        );
        expect(await snapshot()).toEqual(before);
        expect((await patch({ displayName: 'By admin' }, ADA)).status).toBe(
          200,
        );
      });

      it('changes a plan or upgrades only a Ready store (409), and only for its owners (403)', async () => {
        const before = await snapshot();
        const plan = await patch({ plan: 'large' });
        expect(plan.status).toBe(409);
        expect(plan.body.error.message).toMatch(
          /is (Provisioning|Failed); only a Ready or Degraded store can be updated/,
        );
        const upgrade = (caller: string) =>
          request(app)
            .post(`/api/stores/stores/${id}/upgrade`)
            .set('Authorization', caller);
        const denied = await upgrade(BOB);
        expect(denied.status).toBe(403);
        expect(denied.body.error.message).toMatch(/storeplane\.store\.update/);
        const early = await upgrade(ANN);
        expect(early.status).toBe(409);
        expect(early.body.error.message).toMatch(
          /only a Ready or Degraded store can be updated/,
        );
        expect(await snapshot()).toEqual(before);
        expect(
          (
            await request(app)
              .post('/api/stores/stores/a%00b/upgrade')
              .set('Authorization', ANN)
          ).status,
        ).toBe(400);
      });

      it('answers 404 for a store that does not exist', async () => {
        const res = await request(app)
          .patch('/api/stores/stores/nope-12345')
          .set('Authorization', ANN)
          .send({ displayName: 'x' });
        expect(res.status).toBe(404);
      });

      it('refuses to rename a store being deleted (409)', async () => {
        await request(app)
          .delete(`/api/stores/stores/${id}`)
          .set('Authorization', ANN);
        const before = await snapshot();
        const res = await patch({ displayName: 'Too late' });
        expect(res.status).toBe(409);
        expect(res.body.error.message).toMatch(/is being deleted/);
        expect(await snapshot()).toEqual(before);
      });

      it.each([
        [
          'an empty body',
          {},
          /request\/body must NOT have fewer than 1 properties/,
        ],
        [
          'an unknown field',
          { displayName: 'ok', owner: 'group:default/team-b' },
          /Unknown field in the request body: owner; allowed fields are plan, displayName/,
        ],
        [
          'a blank name',
          { displayName: '   ' },
          /displayName must not be blank/,
        ],
        [
          'an empty name',
          { displayName: '' },
          /must NOT have fewer than 1 characters/,
        ],
        [
          'a name too long',
          { displayName: 'x'.repeat(101) },
          /must NOT have more than 100 characters/,
        ],
        [
          'a control character',
          { displayName: `a${NUL}b` },
          /displayName must not contain control characters \(found U\+0000 at position 2\)/,
        ],
        [
          'a line break',
          { displayName: 'a\nb' },
          /displayName must not contain control characters/,
        ],
        [
          'a text-direction override',
          { displayName: 'abc\u202edef' },
          /invisible text-direction characters/,
        ],
        [
          'a number',
          { displayName: 7 },
          /request\/body\/displayName must be string/,
        ],
        [
          'an unknown plan',
          { plan: 'huge' },
          /Unknown plan 'huge'; choose one of: small, large/,
        ],
        [
          'an empty plan',
          { plan: '' },
          /must NOT have fewer than 1 characters/,
        ],
        [
          'an unknown plan with a valid name',
          { plan: 'huge', displayName: 'Renamed' },
          /Unknown plan 'huge'/,
        ],
      ])(
        'refuses %s with 400 and changes nothing',
        async (_, body, message) => {
          const before = await snapshot();
          const res = await patch(body);
          expect(res.body.error?.message).toMatch(message);
          expect(res.status).toBe(400);
          expect(res.body.error.name).toBe('InputError');
          expect(await snapshot()).toEqual(before);
        },
      );
    });

    it('serves its OpenAPI document', async () => {
      const app = await start();
      const document = await request(app)
        .get('/api/stores/openapi.json')
        .set('Authorization', ANN);
      expect(document.status).toBe(200);
      expect(Object.keys(document.body.paths)).toContain(
        '/api/stores/stores/{id}',
      );
    });

    it('pages the list with the defaults of the spec, numbers as numbers', async () => {
      const app = await start();
      const first = await request(app)
        .get('/api/stores/stores')
        .set('Authorization', ANN);
      expect(first.body).toEqual({
        items: [],
        totalCount: 0,
        totalCountCapped: false,
        offset: 0,
        limit: 50,
        nextCursor: null,
      });
      const later = await request(app)
        .get('/api/stores/stores?offset=20&limit=10')
        .set('Authorization', ANN);
      expect(later.body).toMatchObject({ offset: 20, limit: 10 });
    });

    it('pages the list and a store’s events by cursor', async () => {
      const app = await start();
      const ids: string[] = [];
      for (const name of ['one', 'two', 'three']) {
        const created = await request(app)
          .post('/api/stores/stores')
          .set('Authorization', ANN)
          .send({ ...valid, name });
        ids.unshift(created.body.id);
      }
      const seen: string[] = [];
      let query = 'limit=2';
      for (;;) {
        const page = await request(app)
          .get(`/api/stores/stores?${query}`)
          .set('Authorization', ANN);
        expect(page.status).toBe(200);
        seen.push(...page.body.items.map((store: any) => store.id));
        if (page.body.nextCursor === null) break;
        expect(page.body.nextCursor).toEqual(expect.any(String));
        query = `limit=2&cursor=${encodeURIComponent(page.body.nextCursor)}`;
      }
      expect(new Set(seen)).toEqual(new Set(ids));
      expect(seen).toHaveLength(3);

      const events = async (page: string) =>
        (
          await request(app)
            .get(`/api/stores/stores/${ids[0]}/events?${page}`)
            .set('Authorization', ANN)
        ).body;
      // Two renames give the store three events of its own, whether or not the reconciler
      // has run yet.
      for (const displayName of ['First name', 'Second name']) {
        const renamed = await request(app)
          .patch(`/api/stores/stores/${ids[0]}`)
          .set('Authorization', ANN)
          .send({ displayName });
        expect(renamed.status).toBe(200);
      }
      // The reconciler, woken by the creates, may add events meanwhile; they come with
      // higher ids, so the pages are compared with what stood when the first page was read.
      const newest = await events('limit=1');
      const older = await events(
        `limit=500&cursor=${encodeURIComponent(newest.nextCursor)}`,
      );
      const all = await events('');
      expect(newest.nextCursor).toEqual(expect.any(String));
      const firstId = newest.items[0].id;
      expect(newest.items).toEqual(
        all.items.filter((e: any) => e.id === firstId),
      );
      expect(older.items.map((e: any) => e.id)).toEqual(
        all.items.filter((e: any) => e.id < firstId).map((e: any) => e.id),
      );
      expect(older.items.length).toBeGreaterThan(0);
      expect(older.nextCursor).toBeNull();
      expect(all.nextCursor).toBeNull();
    });

    it('refuses a cursor that is not one with 400, and an events cursor on the list', async () => {
      const app = await start();
      const created = await request(app)
        .post('/api/stores/stores')
        .set('Authorization', ANN)
        .send(valid);
      const events = await request(app)
        .get(`/api/stores/stores/${created.body.id}/events?limit=1`)
        .set('Authorization', ANN);
      const json = (value: unknown) =>
        Buffer.from(JSON.stringify(value)).toString('base64url');
      const hostile = [
        'not a cursor',
        '%00%ff',
        'x'.repeat(301),
        json('stores'),
        json({ list: 'stores', createdAt: -1, id: 'a' }),
        json({ list: 'stores', createdAt: 1e300, id: 'a' }),
        json({ list: 'stores', createdAt: 1, id: "a' or 1=1 --", extra: 1 }),
        json({ list: 'stores', createdAt: '1', id: 'a' }),
        json({ list: 'stores', createdAt: 1, id: 'x'.repeat(101) }),
        json({ list: 'events', beforeId: 0 }),
        events.body.nextCursor,
      ];
      for (const cursor of hostile) {
        const res = await request(app)
          .get(`/api/stores/stores?cursor=${encodeURIComponent(cursor)}`)
          .set('Authorization', ANN);
        expect([cursor, res.status]).toEqual([cursor, 400]);
        expect(res.body.error.name).toMatch(/InputError|BadRequestError/);
      }
      for (const cursor of [
        json({ list: 'stores', createdAt: 1, id: 'a' }),
        json({ list: 'events', beforeId: 1.5 }),
      ]) {
        const res = await request(app)
          .get(
            `/api/stores/stores/${
              created.body.id
            }/events?cursor=${encodeURIComponent(cursor)}`,
          )
          .set('Authorization', ANN);
        expect(res.status).toBe(400);
      }
      const both = await request(app)
        .get(
          `/api/stores/stores?offset=5&cursor=${json({
            list: 'stores',
            createdAt: 1,
            id: 'a',
          })}`,
        )
        .set('Authorization', ANN);
      expect(both.status).toBe(400);
      expect(both.body.error.message).toMatch(/either cursor or offset/);
    });

    it('rejects a bad list query with 400', async () => {
      const app = await start();
      const res = await request(app)
        .get('/api/stores/stores?status=Running&limit=0')
        .set('Authorization', ANN);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/status/);
    });

    it('answers 403 when the permission policy denies, and creates nothing', async () => {
      const permissions = mockServices.permissions.mock({
        authorize: async requests =>
          requests.map(() => ({ result: AuthorizeResult.DENY })),
        authorizeConditional: async requests =>
          requests.map(() => ({ result: AuthorizeResult.DENY })),
      });
      const app = await start({ permissions });
      const res = await request(app)
        .post('/api/stores/stores')
        .set('Authorization', ANN)
        .send(valid);
      expect(res.status).toBe(403);
      expect(res.body.error.message).toMatch(/storeplane\.store\.create/);
      // A denied list is a 403, never an empty list the catalog could read as "no stores".
      const list = await request(app)
        .get('/api/stores/stores')
        .set('Authorization', ANN);
      expect(list.status).toBe(403);
      expect(list.body.error.message).toMatch(/storeplane\.store\.read/);
      const removals = await request(app)
        .get('/api/stores/deleted-stores?deletedSince=2026-01-01T00%3A00%3A00Z')
        .set('Authorization', ANN);
      expect(removals.status).toBe(403);
      const [{ n }] = await knex('stores').count({ n: '*' });
      expect(Number(n)).toBe(0);
    });

    it('checks the resource permission per store (read allowed, credentials denied)', async () => {
      const permissions = mockServices.permissions.mock({
        authorize: async requests =>
          requests.map(r => ({
            result:
              r.permission.name === 'storeplane.store.credentials.read'
                ? AuthorizeResult.DENY
                : AuthorizeResult.ALLOW,
          })),
        authorizeConditional: async requests =>
          requests.map(() => ({ result: AuthorizeResult.ALLOW })),
      });
      const app = await start({ permissions });
      const created = await request(app)
        .post('/api/stores/stores')
        .set('Authorization', ANN)
        .send(valid);
      expect(
        (
          await request(app)
            .get(`/api/stores/stores/${created.body.id}`)
            .set('Authorization', BOB)
        ).status,
      ).toBe(200);
      const creds = await request(app)
        .get(`/api/stores/stores/${created.body.id}/credentials`)
        .set('Authorization', BOB);
      expect(creds.status).toBe(403);
    });

    it('serves what runs in the store namespace, read live and permission-checked like reading the store', async () => {
      const app = await start();
      const created = await request(app)
        .post('/api/stores/stores')
        .set('Authorization', ANN)
        .send(valid);
      const { id, namespace: ns } = created.body;
      const workloads = () =>
        request(app)
          .get(`/api/stores/stores/${id}/workloads`)
          .set('Authorization', ANN);

      await knex('stores').where({ id }).update({ reached_cluster_at: 1 });
      const put = (obj: Record<string, any>) =>
        fake.objects.set(`${obj.kind}/${ns}/${obj.metadata.name}`, {
          ...obj,
          metadata: { ...obj.metadata, namespace: ns },
        } as any);
      put({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'woocommerce-wordpress-abc',
          creationTimestamp: '2026-11-27T10:00:00Z',
        },
        status: {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'False' }],
          containerStatuses: [
            {
              name: 'wordpress',
              image: 'wordpress',
              imageID: '',
              ready: false,
              restartCount: 3,
              state: { waiting: { reason: 'CrashLoopBackOff' } },
              lastState: {
                terminated: {
                  exitCode: 137,
                  reason: 'OOMKilled',
                  finishedAt: '2026-11-27T10:05:00Z',
                },
              },
            },
          ],
        },
      });
      put({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'woocommerce-wordpress' },
        spec: { replicas: 1 },
        status: { replicas: 1, readyReplicas: 0, availableReplicas: 0 },
      });
      put({
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'woocommerce-mariadb' },
        spec: { replicas: 1 },
        status: { replicas: 1, readyReplicas: 1, availableReplicas: 1 },
      });
      put({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'data-woocommerce-mariadb-0' },
        spec: {
          storageClassName: 'standard',
          resources: { requests: { storage: '2Gi' } },
        },
        status: { phase: 'Bound', capacity: { storage: '2Gi' } },
      });

      const res = await workloads();
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual({
        namespace: ns,
        pods: [
          {
            name: 'woocommerce-wordpress-abc',
            phase: 'Running',
            ready: false,
            restarts: 3,
            waitingReason: 'CrashLoopBackOff',
            lastTermination: {
              container: 'wordpress',
              reason: 'OOMKilled',
              exitCode: 137,
              finishedAt: '2026-11-27T10:05:00.000Z',
            },
            createdAt: '2026-11-27T10:00:00.000Z',
          },
        ],
        workloads: [
          {
            kind: 'Deployment',
            name: 'woocommerce-wordpress',
            desiredReplicas: 1,
            readyReplicas: 0,
            availableReplicas: 0,
          },
          {
            kind: 'StatefulSet',
            name: 'woocommerce-mariadb',
            desiredReplicas: 1,
            readyReplicas: 1,
            availableReplicas: 1,
          },
        ],
        volumeClaims: [
          {
            name: 'data-woocommerce-mariadb-0',
            phase: 'Bound',
            requested: '2Gi',
            capacity: '2Gi',
            storageClass: 'standard',
            usedBytes: null,
          },
        ],
        usageNote: expect.stringContaining(
          "only the kubelet's volume stats report it",
        ),
      });

      // Only the route's own reads fail: the reconciler, still waiting on the install Job,
      // would otherwise take some of the faults.
      fake.injectFault(
        { status: 500, message: 'etcd is down' },
        20,
        (method, path) =>
          method === 'GET' &&
          /\/(pods|deployments|statefulsets|persistentvolumeclaims)(\?|$)/.test(
            path,
          ),
      );
      const broken = await workloads();
      expect(broken.status).toBe(409);
      expect(broken.body.error.message).toMatch(
        /The store's workloads cannot be read from Kubernetes/,
      );

      expect(
        (
          await request(app)
            .get('/api/stores/stores/nope/workloads')
            .set('Authorization', ANN)
        ).status,
      ).toBe(404);
    });

    it('refuses the workloads of a store the caller may not read', async () => {
      const permissions = mockServices.permissions.mock({
        authorize: async requests =>
          requests.map(r => ({
            result:
              r.permission.name === 'storeplane.store.read'
                ? AuthorizeResult.DENY
                : AuthorizeResult.ALLOW,
          })),
        authorizeConditional: async requests =>
          requests.map(() => ({ result: AuthorizeResult.ALLOW })),
      });
      const app = await start({ permissions });
      const created = await request(app)
        .post('/api/stores/stores')
        .set('Authorization', ANN)
        .send(valid);
      await knex('stores')
        .where({ id: created.body.id })
        .update({ reached_cluster_at: 1 });
      const res = await request(app)
        .get(`/api/stores/stores/${created.body.id}/workloads`)
        .set('Authorization', BOB);
      expect(res.status).toBe(403);
      expect(res.body.error.message).toMatch(/storeplane\.store\.read/);
      // Refused before the cluster is asked (only this route lists volume claims).
      expect(
        fake.requests.filter(r => r.includes('/persistentvolumeclaims')),
      ).toEqual([]);
    });

    it('serves the quota use as the API server reports it, and prices the plan and the actual use', async () => {
      const app = await start({
        cost: {
          currency: 'EUR',
          cpuCoreMonth: 20,
          memoryGiBMonth: 2,
          storageGiBMonth: 0.5,
        },
      });
      const created = await request(app)
        .post('/api/stores/stores')
        .set('Authorization', ANN)
        .send(valid);
      const { id, namespace: ns } = created.body;
      const usage = () =>
        request(app)
          .get(`/api/stores/stores/${id}/usage`)
          .set('Authorization', ANN);

      // The reconciler, woken by the create, has already applied the guardrails; the quota is
      // set again below as the plan makes it, with pods and claims for the fake's quota
      // controller to count.
      await knex('stores').where({ id }).update({ reached_cluster_at: 1 });

      const put = (obj: Record<string, any>) =>
        fake.objects.set(`${obj.kind}/${ns}/${obj.metadata.name}`, {
          ...obj,
          metadata: { ...obj.metadata, namespace: ns },
        } as any);
      const quota = resourceQuotaManifest(
        {
          id,
          namespace: ns,
          owner: valid.owner,
          engine: 'woocommerce',
          plan: 'small',
        },
        createWooCommerceEngine().resourceBudget(
          readStoresConfig(new ConfigReader(testConfigData())).plans.get(
            'small',
          )!,
        ),
      ) as any;
      put(quota);
      const pod = (name: string, phase: string, cpu: string, memory: string) =>
        put({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name },
          spec: {
            containers: [
              { name: 'main', resources: { requests: { cpu, memory } } },
            ],
          },
          status: { phase },
        });
      pod('woocommerce-wordpress-abc', 'Running', '250m', '256Mi');
      pod('woocommerce-mariadb-0', 'Running', '100m', '128Mi');
      // A finished pod no longer counts against the quota.
      pod('woocommerce-setup-xyz', 'Succeeded', '1', '1Gi');
      for (const claim of ['data-woocommerce-mariadb-0', 'woocommerce-files'])
        put({
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: claim },
          spec: { resources: { requests: { storage: '2Gi' } } },
        });

      const res = await usage();
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      const hard = quota.spec.hard;
      expect(res.body.resources).toEqual([
        expect.objectContaining({
          resource: 'cpu',
          hard: hard['requests.cpu'],
          used: '350m',
          usedAmount: 0.35,
        }),
        expect.objectContaining({
          resource: 'memory',
          hard: hard['requests.memory'],
          used: '384Mi',
          usedAmount: 384 * 1024 ** 2,
        }),
        expect.objectContaining({
          resource: 'storage',
          hard: hard['requests.storage'],
          used: '4Gi',
        }),
        expect.objectContaining({
          resource: 'pods',
          hard: hard.pods,
          used: '2',
        }),
      ]);
      const [cpu, memory, storage] = res.body.resources.map(
        (r: { hardAmount: number }) => r.hardAmount,
      );
      const GiB = 1024 ** 3;
      expect(res.body.cost).toEqual({
        currency: 'EUR',
        // The plan's estimate is its quota's hard requests, priced.
        planMonthly:
          Math.round(
            (cpu * 20 + (memory / GiB) * 2 + (storage / GiB) * 0.5) * 100,
          ) / 100,
        // 0.35 cores × 20 + 0.375 GiB × 2 + 4 GiB × 0.5
        actualMonthly: 9.75,
      });
      expect(res.body.note).toBeNull();

      // The list of plan costs (for the Stores page) prices every plan the same way.
      const planCosts = await request(app)
        .get('/api/stores/plan-costs')
        .set('Authorization', ANN);
      expect(planCosts.status).toBe(200);
      expect(planCosts.body.currency).toBe('EUR');
      expect(planCosts.body.items).toContainEqual({
        engine: 'woocommerce',
        plan: created.body.plan,
        monthly: res.body.cost.planMonthly,
      });
      expect(
        new Set(
          planCosts.body.items.map(
            (c: { engine: string; plan: string }) => `${c.engine}/${c.plan}`,
          ),
        ).size,
      ).toBe(planCosts.body.items.length);

      fake.injectFault(
        { status: 500, message: 'etcd is down' },
        20,
        (method, path) => method === 'GET' && path.includes('/resourcequotas/'),
      );
      const broken = await usage();
      expect(broken.status).toBe(409);
      expect(broken.body.error.message).toMatch(
        /The store's quota cannot be read from Kubernetes/,
      );
      expect(
        (
          await request(app)
            .get('/api/stores/stores/nope/usage')
            .set('Authorization', ANN)
        ).status,
      ).toBe(404);
    });

    it('says so when no prices are configured, and refuses the usage of a store the caller may not read', async () => {
      const permissions = mockServices.permissions.mock({
        authorize: async requests =>
          requests.map(() => ({
            result: AuthorizeResult.ALLOW,
          })),
        authorizeConditional: async requests =>
          requests.map(() => ({ result: AuthorizeResult.ALLOW })),
      });
      const app = await start({ permissions });
      const created = await request(app)
        .post('/api/stores/stores')
        .set('Authorization', ANN)
        .send(valid);
      const res = await request(app)
        .get(`/api/stores/stores/${created.body.id}/usage`)
        .set('Authorization', ANN);
      expect(res.status).toBe(200);
      expect(res.body.cost).toBeNull();
      expect(res.body.note).toMatch(/No prices are configured/);
      const planCosts = await request(app)
        .get('/api/stores/plan-costs')
        .set('Authorization', ANN);
      expect(planCosts.body).toEqual({ currency: null, items: [] });
      const byOwner = await request(app)
        .get('/api/stores/costs/by-owner')
        .set('Authorization', ANN);
      expect(byOwner.status).toBe(200);
      expect(byOwner.body).toEqual({ currency: null, items: [] });

      permissions.authorize.mockImplementation(async requests =>
        requests.map(r => ({
          result:
            r.permission.name === 'storeplane.store.read'
              ? AuthorizeResult.DENY
              : AuthorizeResult.ALLOW,
        })),
      );
      const denied = await request(app)
        .get(`/api/stores/stores/${created.body.id}/usage`)
        .set('Authorization', BOB);
      expect(denied.status).toBe(403);
      expect(denied.body.error.message).toMatch(/storeplane\.store\.read/);
    });

    it('adds up the plan estimates per owner over every store the caller may list, filtered like the list', async () => {
      // ann may list what she or team-a owns or created; ada every store; bob none.
      const permissions = mockServices.permissions.mock({
        authorize: async requests =>
          requests.map(() => ({ result: AuthorizeResult.ALLOW })),
        authorizeConditional: async (requests, { credentials }) => {
          const user = (credentials.principal as { userEntityRef: string })
            .userEntityRef;
          return requests.map(() => {
            if (user === 'user:default/bob')
              return { result: AuthorizeResult.DENY };
            if (user === 'user:default/ada')
              return { result: AuthorizeResult.ALLOW };
            return {
              result: AuthorizeResult.CONDITIONAL,
              pluginId: 'stores',
              resourceType: STORE_RESOURCE_TYPE,
              conditions: {
                rule: IS_STORE_OWNER_RULE,
                resourceType: STORE_RESOURCE_TYPE,
                params: { claims: [user, ...memberships[user]] },
              },
            };
          }) as any;
        },
      });
      const app = await start({
        permissions,
        cost: {
          currency: 'EUR',
          cpuCoreMonth: 20,
          memoryGiBMonth: 2,
          storageGiBMonth: 0.5,
        },
      });
      const create = async (body: Record<string, string>) => {
        const res = await request(app)
          .post('/api/stores/stores')
          .set('Authorization', ANN)
          .send(body);
        expect(res.status).toBe(201);
        return res.body.id as string;
      };
      await create({ name: 'team-small', owner: valid.owner, plan: 'small' });
      await create({ name: 'team-large', owner: valid.owner, plan: 'large' });
      await create({ name: 'own', owner: 'user:default/ann', plan: 'small' });
      // Stores of team-b that ann neither owns nor created; one on a plan no longer configured.
      const other = {
        owner: 'group:default/team-b',
        created_by: 'user:default/bob',
      };
      const b1 = await create({
        name: 'b-one',
        owner: valid.owner,
        plan: 'large',
      });
      const b2 = await create({
        name: 'b-two',
        owner: valid.owner,
        plan: 'small',
      });
      await knex('stores').where({ id: b1 }).update(other);
      await knex('stores')
        .where({ id: b2 })
        .update({ ...other, plan: 'retired' });

      const planCosts = await request(app)
        .get('/api/stores/plan-costs')
        .set('Authorization', ANN);
      const price = (plan: string) =>
        planCosts.body.items.find(
          (c: { engine: string; plan: string }) =>
            c.engine === 'woocommerce' && c.plan === plan,
        ).monthly as number;
      const [small, large] = [price('small'), price('large')];
      expect(large).toBeGreaterThan(small);
      const cents = (amount: number) => Math.round(amount * 100) / 100;
      const byOwner = (as: string, query = '') =>
        request(app)
          .get(`/api/stores/costs/by-owner${query}`)
          .set('Authorization', as);

      const all = await byOwner(ADA);
      expect(all.status).toBe(200);
      expect(all.body).toEqual({
        currency: 'EUR',
        items: [
          {
            owner: 'group:default/team-a',
            stores: 2,
            monthly: cents(small + large),
            unpricedStores: 0,
          },
          {
            owner: 'group:default/team-b',
            stores: 2,
            monthly: large,
            unpricedStores: 1,
          },
          {
            owner: 'user:default/ann',
            stores: 1,
            monthly: small,
            unpricedStores: 0,
          },
        ],
      });
      // The policy's conditions select the stores in SQL, as for GET /stores.
      const anns = await byOwner(ANN);
      expect(anns.status).toBe(200);
      expect(anns.body.items.map((i: { owner: string }) => i.owner)).toEqual([
        'group:default/team-a',
        'user:default/ann',
      ]);
      const filtered = await byOwner(
        ADA,
        `?owner=${encodeURIComponent('Group:default/Team-B')}`,
      );
      expect(filtered.body.items).toEqual([all.body.items[1]]);
      const pending = await byOwner(ADA, '?status=Deleting');
      expect(pending.body).toEqual({ currency: 'EUR', items: [] });

      const badStatus = await byOwner(ADA, '?status=Gone');
      expect(badStatus.status).toBe(400);
      expect(badStatus.body.error.message).toMatch(/status/);
      const badOwner = await byOwner(ADA, '?owner=group%3Adefault%2Fa%00');
      expect(badOwner.status).toBe(400);
      expect(badOwner.body.error.message).toMatch(/owner/);
      const denied = await byOwner(BOB);
      expect(denied.status).toBe(403);
      expect(denied.body.error.message).toMatch(/storeplane\.store\.read/);
      // Five creates: room for a loaded CI machine.
    }, 20_000);

    it('returns credentials from the cluster Secret, never cached', async () => {
      const app = await start();
      const created = await request(app)
        .post('/api/stores/stores')
        .set('Authorization', ANN)
        .send(valid);
      const ns = created.body.namespace;
      const encode = (s: string) => Buffer.from(s).toString('base64');
      fake.objects.set(`Secret/${ns}/storeplane-credentials`, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'storeplane-credentials', namespace: ns },
        data: {
          'admin-username': encode('admin'),
          'admin-password': encode('s3cret-value'),
        },
      });
      const res = await request(app)
        .get(`/api/stores/stores/${created.body.id}/credentials`)
        .set('Authorization', ANN);
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual({
        adminUsername: 'admin',
        adminPassword: 's3cret-value',
        adminUrl: null,
      });
    });

    it('limits active stores per user with 429 and Retry-After', async () => {
      const app = await start({
        limits: {
          maxActiveStoresPerUser: 2,
          maxActiveStoresPerOwner: 10,
          createRate: { count: 10, window: { seconds: 60 } },
        },
      });
      for (const name of ['one', 'two']) {
        expect(
          (
            await request(app)
              .post('/api/stores/stores')
              .set('Authorization', ANN)
              .send({ ...valid, name })
          ).status,
        ).toBe(201);
      }
      const res = await request(app)
        .post('/api/stores/stores')
        .set('Authorization', ANN)
        .send({ ...valid, name: 'three' });
      expect(res.status).toBe(429);
      expect(res.headers['retry-after']).toBe('60');
      expect(res.body.error.message).toMatch(
        /already have 2 active stores \(limit 2\)/,
      );
      // Another user is not affected.
      expect(
        (
          await request(app)
            .post('/api/stores/stores')
            .set('Authorization', BOB)
            .send({ ...valid, name: 'four', owner: 'group:default/team-b' })
        ).status,
      ).toBe(201);
    });

    it('limits active stores per owner', async () => {
      const app = await start({
        limits: {
          maxActiveStoresPerUser: 10,
          maxActiveStoresPerOwner: 1,
          createRate: { count: 10, window: { seconds: 60 } },
        },
      });
      expect(
        (
          await request(app)
            .post('/api/stores/stores')
            .set('Authorization', ANN)
            .send(valid)
        ).status,
      ).toBe(201);
      // An administrator may create for team-a, and still meets team-a's limit.
      const res = await request(app)
        .post('/api/stores/stores')
        .set('Authorization', ADA)
        .send({ ...valid, name: 'other' });
      expect(res.status).toBe(429);
      expect(res.body.error.message).toMatch(
        /group:default\/team-a already owns 1 active stores/,
      );
    });

    it('rate-limits creates per user from the database, so it holds across replicas', async () => {
      const limits = {
        maxActiveStoresPerUser: 10,
        maxActiveStoresPerOwner: 10,
        createRate: { count: 2, window: { minutes: 10 } },
      };
      const app = await start({ limits });
      for (const name of ['r-one', 'r-two']) {
        expect(
          (
            await request(app)
              .post('/api/stores/stores')
              .set('Authorization', ANN)
              .send({ ...valid, name })
          ).status,
        ).toBe(201);
      }
      const res = await request(app)
        .post('/api/stores/stores')
        .set('Authorization', ANN)
        .send({ ...valid, name: 'r-three' });
      expect(res.status).toBe(429);
      const retryAfter = Number(res.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(590);
      expect(retryAfter).toBeLessThanOrEqual(600);
      expect(res.body.error.message).toMatch(
        /created 2 stores in the last 10 minutes/,
      );
    });

    it('serves plans and engines', async () => {
      const app = await start();
      const plans = await request(app)
        .get('/api/stores/plans')
        .set('Authorization', ANN);
      expect(plans.body.items.map((p: any) => p.name)).toEqual([
        'small',
        'large',
      ]);
      const engines = await request(app)
        .get('/api/stores/engines')
        .set('Authorization', ANN);
      expect(engines.body.items).toEqual([
        { name: 'woocommerce', title: 'WooCommerce' },
      ]);
    });

    describe('service principals', () => {
      const CATALOG = mockCredentials.service.header({
        onBehalfOf: mockCredentials.service('plugin:catalog'),
        targetPluginId: 'stores',
      });
      const CI = mockCredentials.service.header({
        onBehalfOf: mockCredentials.service('external:ci-bot'),
        targetPluginId: 'stores',
      });

      it('may read stores but not change them unless listed in allowedServices', async () => {
        const app = await start();
        const created = await request(app)
          .post('/api/stores/stores')
          .set('Authorization', ANN)
          .send(valid);
        expect(created.status).toBe(201);
        const list = await request(app)
          .get('/api/stores/stores')
          .set('Authorization', CATALOG);
        expect(list.status).toBe(200);
        expect(list.body.totalCount).toBe(1);

        for (const [method, path] of [
          ['post', '/api/stores/stores'],
          ['delete', `/api/stores/stores/${created.body.id}`],
          ['post', `/api/stores/stores/${created.body.id}/retry`],
          ['get', `/api/stores/stores/${created.body.id}/credentials`],
          ['post', `/api/stores/stores/${created.body.id}/content-suggestions`],
        ] as const) {
          const res = await request(app)
            [method](path)
            .set('Authorization', CATALOG)
            .send(method === 'post' ? valid : undefined);
          expect(res.status).toBe(403);
          expect(res.body.error.message).toMatch(
            /Service 'plugin:catalog' may only read stores; list it in storeplane\.permissions\.allowedServices/,
          );
        }
        const one = await request(app)
          .get(`/api/stores/stores/${created.body.id}`)
          .set('Authorization', CATALOG);
        expect(one.body.status).toBe('Provisioning');
      });

      it('an allowed service creates for any owner that exists, and deletes', async () => {
        const app = await start({ allowedServices: ['external:ci-bot'] });
        const created = await request(app)
          .post('/api/stores/stores')
          .set('Authorization', CI)
          .send({ ...valid, owner: 'group:default/team-b' });
        expect(created.status).toBe(201);
        expect(created.body.createdBy).toBe('service:external:ci-bot');
        const missing = await request(app)
          .post('/api/stores/stores')
          .set('Authorization', CI)
          .send({ ...valid, owner: 'group:default/nobody' });
        expect(missing.status).toBe(400);
        expect(missing.body.error.message).toMatch(
          /'group:default\/nobody' does not exist in the catalog/,
        );
        const deleted = await request(app)
          .delete(`/api/stores/stores/${created.body.id}`)
          .set('Authorization', CI);
        expect(deleted.status).toBe(202);
      });
    });

    it('refuses a non-owner the credentials right after an owner read them (decisions are reused per user only)', async () => {
      const app = await start();
      const created = await request(app)
        .post('/api/stores/stores')
        .set('Authorization', ANN)
        .send(valid);
      const ns = created.body.namespace;
      fake.objects.set(`Secret/${ns}/storeplane-credentials`, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'storeplane-credentials', namespace: ns },
        data: {
          'admin-username': Buffer.from('admin').toString('base64'),
          'admin-password': Buffer.from('pw').toString('base64'),
        },
      });
      const path = `/api/stores/stores/${created.body.id}/credentials`;
      const statuses = [];
      for (const caller of [ANN, BOB, ANN, BOB]) {
        statuses.push(
          (await request(app).get(path).set('Authorization', caller)).status,
        );
      }
      expect(statuses).toEqual([200, 403, 200, 403]);
    });

    it('audits credential reads, denied ones included, before the permission check', async () => {
      const auditor = mockServices.auditor.mock();
      const app = await start({ auditor });
      const created = await request(app)
        .post('/api/stores/stores')
        .set('Authorization', ANN)
        .send(valid);
      const ns = created.body.namespace;
      fake.objects.set(`Secret/${ns}/storeplane-credentials`, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'storeplane-credentials', namespace: ns },
        data: {
          'admin-username': Buffer.from('admin').toString('base64'),
          'admin-password': Buffer.from('pw').toString('base64'),
        },
      });
      auditor.createEvent.mockClear();

      const denied = await request(app)
        .get(`/api/stores/stores/${created.body.id}/credentials`)
        .set('Authorization', BOB);
      expect(denied.status).toBe(403);
      const allowed = await request(app)
        .get(`/api/stores/stores/${created.body.id}/credentials`)
        .set('Authorization', ANN);
      expect(allowed.status).toBe(200);

      const calls = auditor.createEvent.mock.calls.map(([c]) => c);
      expect(calls.map(c => [c.eventId, c.meta])).toEqual([
        ['store-credentials-read', { storeId: created.body.id }],
        ['store-credentials-read', { storeId: created.body.id }],
      ]);
      const [deniedEvent, allowedEvent] = await Promise.all(
        auditor.createEvent.mock.results.map(r => r.value),
      );
      expect(deniedEvent.fail).toHaveBeenCalledWith({
        error: expect.objectContaining({ name: 'NotAllowedError' }),
      });
      expect(deniedEvent.success).not.toHaveBeenCalled();
      expect(allowedEvent.success).toHaveBeenCalled();
      expect(allowedEvent.fail).not.toHaveBeenCalled();
    });

    it("keeps a deleted store's events readable to its owners and admins for the audit period", async () => {
      const app = await start();
      const created = await request(app)
        .post('/api/stores/stores')
        .set('Authorization', ANN)
        .send(valid);
      const id = created.body.id;
      await request(app)
        .delete(`/api/stores/stores/${id}`)
        .set('Authorization', ANN);
      // What the reconciler does once the namespace is gone (claiming as of an hour later
      // takes over the lease of a reconcile pass that the delete may have started).
      const repository = new StoreRepository(knex, {
        clockShiftMs: () => 3_600_000,
      });
      const stored = await repository.getStore(id);
      const claimed = await repository.claimStore(
        { id, generation: stored!.generation },
        'test/1',
        60_000,
      );
      expect(
        await repository.deleteClaimedStore(
          id,
          'test/1',
          claimed!.store.generation,
        ),
      ).toBe(true);

      expect(
        (
          await request(app)
            .get(`/api/stores/stores/${id}`)
            .set('Authorization', ANN)
        ).status,
      ).toBe(404);
      for (const caller of [ANN, ADA]) {
        const events = await request(app)
          .get(`/api/stores/stores/${id}/events`)
          .set('Authorization', caller);
        expect(events.status).toBe(200);
        // The reconciler may have run steps in between (it is woken by each change).
        expect(events.body.items.map((e: any) => e.type)).toEqual(
          expect.arrayContaining(['requested', 'delete.requested']),
        );
      }
      const never = await request(app)
        .get('/api/stores/stores/never-existed/events')
        .set('Authorization', ANN);
      expect(never.status).toBe(404);

      // The removal is listed for incremental syncs, to whoever may read the store (the
      // shipped policy lets every user read stores). The claim above ran an hour ahead, so
      // the removal is an hour from now.
      const since = encodeURIComponent(
        new Date(Date.now() - 3_600_000).toISOString(),
      );
      const removals = async (caller: string) =>
        request(app)
          .get(`/api/stores/deleted-stores?deletedSince=${since}`)
          .set('Authorization', caller);
      for (const caller of [ANN, BOB, ADA])
        expect((await removals(caller)).body).toEqual({
          items: [{ id, deletedAt: expect.any(String) }],
          nextCursor: null,
        });
      const later = await request(app)
        .get(
          `/api/stores/deleted-stores?deletedSince=${encodeURIComponent(
            new Date(Date.now() + 7_200_000).toISOString(),
          )}`,
        )
        .set('Authorization', ANN);
      expect(later.body.items).toEqual([]);
    });

    it('lists the stores changed since a time, and refuses a time that is not one with 400', async () => {
      const app = await start();
      const before = new Date(Date.now() - 60_000).toISOString();
      const created = await request(app)
        .post('/api/stores/stores')
        .set('Authorization', ANN)
        .send(valid);
      const since = async (time: string) =>
        request(app)
          .get(`/api/stores/stores?updatedSince=${encodeURIComponent(time)}`)
          .set('Authorization', ANN);
      expect((await since(before)).body.items.map((s: any) => s.id)).toEqual([
        created.body.id,
      ]);
      const future = new Date(Date.now() + 3_600_000).toISOString();
      expect((await since(future)).body.items).toEqual([]);
      for (const bad of [
        'yesterday',
        '2026-11-28',
        '2026-11-28T10:00:00',
        '2026-13-45T99:00:00Z',
        '1732780800000',
      ]) {
        expect([bad, (await since(bad)).status]).toEqual([bad, 400]);
        expect([
          bad,
          (
            await request(app)
              .get(
                `/api/stores/deleted-stores?deletedSince=${encodeURIComponent(
                  bad,
                )}`,
              )
              .set('Authorization', ANN)
          ).status,
        ]).toEqual([bad, 400]);
      }
      const missing = await request(app)
        .get('/api/stores/deleted-stores')
        .set('Authorization', ANN);
      expect(missing.status).toBe(400);
      const filtered = await request(app)
        .get(
          `/api/stores/stores?updatedSince=${encodeURIComponent(
            before,
          )}&status=Ready`,
        )
        .set('Authorization', ANN);
      expect(filtered.status).toBe(400);
      expect(filtered.body.error.message).toMatch(/takes no owner/);
      // A cursor of the list is not one of the changes.
      const second = await request(app)
        .post('/api/stores/stores')
        .set('Authorization', ANN)
        .send({ ...valid, name: 'second' });
      const listPage = await request(app)
        .get('/api/stores/stores?limit=1')
        .set('Authorization', ANN);
      const mixed = await request(app)
        .get(
          `/api/stores/stores?updatedSince=${encodeURIComponent(
            before,
          )}&cursor=${encodeURIComponent(listPage.body.nextCursor)}`,
        )
        .set('Authorization', ANN);
      expect(mixed.status).toBe(400);
      // Page by one until the end. The reconciler, woken by each create, may change a store
      // between two pages; a changed store moves behind the cursor and is listed again, so
      // the pages end once nothing changes, not after exactly two.
      const pages: any[] = [];
      let cursor: string | undefined;
      do {
        const page = await request(app)
          .get(
            `/api/stores/stores?updatedSince=${encodeURIComponent(
              before,
            )}&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          )
          .set('Authorization', ANN);
        expect(page.status).toBe(200);
        expect(page.body.items.length).toBeLessThanOrEqual(1);
        pages.push(page.body);
        cursor = page.body.nextCursor ?? undefined;
      } while (cursor && pages.length < 20);
      expect(cursor).toBeUndefined();
      expect(pages.length).toBeGreaterThanOrEqual(2);
      expect(pages.flatMap(p => p.items.map((s: any) => s.id))).toEqual(
        expect.arrayContaining([created.body.id, second.body.id]),
      );
    });

    describe('backups (/stores/:id/backups)', () => {
      let app: Awaited<ReturnType<typeof startBackend>>;
      let db: Knex;
      let id: string;
      beforeAll(async () => {
        db = await databases.init(databaseId);
        app = await startBackend({ knex: db });
      });
      /**
       * A store in `status`, written directly, held under a lease of another replica: a backup
       * request makes the store due, and these tests are about what the request records, not
       * about the reconciler running it (backupRun.test.ts is).
       */
      async function heldStore(name: string, status = 'Ready') {
        const created = await request(app)
          .post('/api/stores/stores')
          .set('Authorization', ANN)
          .send({ ...valid, name });
        await db('stores')
          .where({ id: created.body.id })
          .update({
            status,
            step: null,
            generation: db.raw('generation + 1'),
            lease_holder: 'another-replica/test',
            lease_expires_at: Date.now() + 3_600_000,
          });
        return created.body.id as string;
      }
      beforeEach(async () => {
        id = await heldStore(
          `backup shop ${Math.random().toString(36).slice(2, 7)}`,
        );
      });
      const requestBackup = (caller = ANN, storeId = id) =>
        request(app)
          .post(`/api/stores/stores/${storeId}/backups`)
          .set('Authorization', caller);
      const listBackups = (caller = ANN, storeId = id) =>
        request(app)
          .get(`/api/stores/stores/${storeId}/backups`)
          .set('Authorization', caller);
      /** What a refused request must leave as it was. */
      const written = async (storeId = id) => ({
        backups: await db('store_backups').where({ store_id: storeId }),
        events: await db('store_events')
          .where({ store_id: storeId })
          .where('type', 'like', 'backup.%'),
        store: await db('stores')
          .where({ id: storeId })
          .first('status', 'next_attempt_at', 'generation'),
      });

      it('records a backup for an owner (202, Pending) that the owner and other readers list, with an event naming who asked', async () => {
        const res = await requestBackup();
        expect(res.status).toBe(202);
        expect(res.body).toEqual({
          id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          status: 'Pending',
          requestedBy: 'user:default/ann',
          sizeBytes: null,
          createdAt: expect.any(String),
          finishedAt: null,
          message: null,
        });
        expect(Date.parse(res.body.createdAt)).toBeGreaterThan(
          Date.now() - 60_000,
        );
        for (const reader of [ANN, BOB]) {
          const list = await listBackups(reader);
          expect(list.status).toBe(200);
          expect(list.headers['cache-control']).toBe('no-store');
          expect(list.body).toEqual({ items: [res.body] });
        }
        const events = (
          await request(app)
            .get(`/api/stores/stores/${id}/events`)
            .set('Authorization', ANN)
        ).body.items;
        expect(events).toContainEqual(
          expect.objectContaining({
            type: 'backup.requested',
            actor: 'user:default/ann',
            message: `Backup ${res.body.id} requested`,
          }),
        );
        expect(
          (await db('store_backups').where({ id: res.body.id }).first()).file,
        ).toBe(`/backups/${res.body.id}.sql.gz`);
      });

      it('answers 403 to a non-owner and writes nothing; an administrator may back up', async () => {
        const before = await written();
        const denied = await requestBackup(BOB);
        expect(denied.status).toBe(403);
        expect(denied.body.error.message).toMatch(
          /You may not back up store .*storeplane\.store\.backup/,
        );
        expect(await written()).toEqual(before);
        const byAdmin = await requestBackup(ADA);
        expect(byAdmin.status).toBe(202);
        expect(byAdmin.body.requestedBy).toBe('user:default/ada');
      });

      it('refuses a store that is not Ready and a second backup while one is unfinished (409), writing nothing', async () => {
        const updating = await heldStore(
          `backup busy ${Math.random().toString(36).slice(2, 7)}`,
          'Updating',
        );
        const before = await written(updating);
        const notReady = await requestBackup(ANN, updating);
        expect(notReady.status).toBe(409);
        expect(notReady.body.error.message).toMatch(
          /is Updating; only a Ready store can be backed up/,
        );
        expect(await written(updating)).toEqual(before);

        expect((await requestBackup()).status).toBe(202);
        const afterFirst = await written();
        const second = await requestBackup();
        expect(second.status).toBe(409);
        expect(second.body.error.message).toMatch(
          /already has a backup that has not finished; one backup runs at a time/,
        );
        expect(await written()).toEqual(afterFirst);
        expect((await listBackups()).body.items).toHaveLength(1);
      });

      it('answers 404 for an unknown store and 400 for a bad id or any body field, writing nothing', async () => {
        expect((await requestBackup(ANN, 'nope-12345')).status).toBe(404);
        expect((await listBackups(ANN, 'nope-12345')).status).toBe(404);
        expect((await requestBackup(ANN, 'a%00b')).status).toBe(400);
        const before = await written();
        const extra = await request(app)
          .post(`/api/stores/stores/${id}/backups`)
          .set('Authorization', ANN)
          .send({ retention: 1 });
        expect(extra.status).toBe(400);
        expect(extra.body.error.message).toMatch(
          /Unknown field in the request body: retention; this request takes no fields/,
        );
        const notAnObject = await request(app)
          .post(`/api/stores/stores/${id}/backups`)
          .set('Authorization', ANN)
          .set('Content-Type', 'application/json')
          .send('[]');
        expect(notAnObject.status).toBe(400);
        expect(await written()).toEqual(before);
        const emptyObject = await request(app)
          .post(`/api/stores/stores/${id}/backups`)
          .set('Authorization', ANN)
          .send({});
        expect(emptyObject.status).toBe(202);
      });
    });

    describe('backup downloads and restores (/stores/:id/backups/:backupId/…)', () => {
      let app: Awaited<ReturnType<typeof startBackend>>;
      let db: Knex;
      const auditor = mockServices.auditor.mock();
      beforeAll(async () => {
        db = await databases.init(databaseId);
        app = await startBackend({ knex: db, auditor });
      });
      beforeEach(() => {
        // The kubelet starts the reader pod as soon as the backend created it.
        fake.autoProgress = true;
      });

      /** A Ready store held by another replica, with its namespace, and backups in `statuses`. */
      async function storeWithBackups(...statuses: string[]) {
        const created = await request(app)
          .post('/api/stores/stores')
          .set('Authorization', ANN)
          .send({
            ...valid,
            name: `restore shop ${Math.random().toString(36).slice(2, 7)}`,
          });
        const { id: storeId, namespace } = created.body;
        await db('stores')
          .where({ id: storeId })
          .update({
            status: 'Ready',
            step: null,
            generation: db.raw('generation + 1'),
            lease_holder: 'another-replica/test',
            lease_expires_at: Date.now() + 3_600_000,
          });
        fake.objects.set(`Namespace//${namespace}`, {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: namespace },
          status: { phase: 'Active' },
        });
        const backupIds: string[] = [];
        for (const [i, status] of statuses.entries()) {
          const backupId = `${storeId}-b${i}`;
          await db('store_backups').insert({
            id: backupId,
            store_id: storeId,
            status,
            requested_by: 'user:default/ann',
            file: `/backups/${backupId}.sql.gz`,
            size_bytes: status === 'Succeeded' ? 5 : null,
            created_at: Date.parse('2026-11-28T09:30:00.123Z'),
          });
          backupIds.push(backupId);
        }
        return { storeId, namespace, backupIds };
      }
      const download = (storeId: string, backupId: string, caller = ANN) =>
        request(app)
          .get(`/api/stores/stores/${storeId}/backups/${backupId}/download`)
          .set('Authorization', caller)
          .buffer(true)
          .parse((res, callback) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => callback(null, Buffer.concat(chunks)));
          });
      const restore = (storeId: string, backupId: string, caller = ANN) =>
        request(app)
          .post(`/api/stores/stores/${storeId}/backups/${backupId}/restore`)
          .set('Authorization', caller);
      /** What a refused restore must leave as it was. */
      const written = async (storeId: string) => ({
        restores: await db('store_restores').where({ store_id: storeId }),
        events: await db('store_events')
          .where({ store_id: storeId })
          .where('type', 'like', 'restore.%'),
        store: await db('stores')
          .where({ id: storeId })
          .first('status', 'step', 'next_attempt_at', 'generation'),
      });

      it("streams a Succeeded backup's file from the reader pod it starts, as an audited attachment", async () => {
        const { storeId, namespace, backupIds } = await storeWithBackups(
          'Succeeded',
        );
        const [backupId] = backupIds;
        const gzipped = new Uint8Array([0x1f, 0x8b, 8, 0, 42]);
        fake.serveFile(
          namespace,
          'backup-reader',
          8080,
          `/${backupId}.sql.gz`,
          gzipped,
        );
        auditor.createEvent.mockClear();
        const res = await download(storeId, backupId);
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toBe('application/gzip');
        expect(res.headers['content-length']).toBe('5');
        expect(res.headers['content-disposition']).toBe(
          `attachment; filename="${storeId}-20261128T093000Z.sql.gz"`,
        );
        // The frontend runs on another origin: it reads the file name only when exposed.
        expect(res.headers['access-control-expose-headers']).toBe(
          'Content-Disposition',
        );
        expect(new Uint8Array(res.body)).toEqual(gzipped);

        const reader = fake.get('Pod', namespace, 'backup-reader')!;
        expect(reader.metadata.labels).toMatchObject({
          'storeplane.io/role': 'backup-reader',
          'storeplane.io/store-id': storeId,
        });
        expect(reader.spec.containers[0].image).toBe('busybox:1.37');
        expect(reader.spec.activeDeadlineSeconds).toBeGreaterThan(0);
        expect(
          auditor.createEvent.mock.calls.map(([c]) => [c.eventId, c.meta]),
        ).toEqual([['store-backup-download', { storeId, backupId }]]);
        const [event] = await Promise.all(
          auditor.createEvent.mock.results.map(r => r.value),
        );
        expect(event.success).toHaveBeenCalled();

        // A reader whose lifetime ran out is replaced by the next download.
        fake.expirePod(namespace, 'backup-reader');
        const again = await download(storeId, backupId);
        expect(again.status).toBe(200);
        expect(
          fake.get('Pod', namespace, 'backup-reader')!.metadata.uid,
        ).not.toBe(reader.metadata.uid);
      });

      it('answers 403 to a non-owner, 404 for an unknown backup or a file not on the volume, 409 for a backup that has not Succeeded', async () => {
        const { storeId, backupIds } = await storeWithBackups(
          'Succeeded',
          'Running',
        );
        const denied = await download(storeId, backupIds[0], BOB);
        expect(denied.status).toBe(403);
        expect(JSON.parse(denied.body.toString()).error.message).toMatch(
          /storeplane\.store\.backup/,
        );
        expect((await download(storeId, 'nope')).status).toBe(404);
        expect((await download('nope-12345', backupIds[0])).status).toBe(404);
        expect((await download(storeId, 'Bad_Id')).status).toBe(400);
        const running = await download(storeId, backupIds[1]);
        expect(running.status).toBe(409);
        expect(JSON.parse(running.body.toString()).error.message).toMatch(
          /is Running; only a Succeeded backup can be downloaded/,
        );
        // The reader runs, but the file is gone from the volume.
        const missing = await download(storeId, backupIds[0]);
        expect(missing.status).toBe(404);
        expect(JSON.parse(missing.body.toString()).error.message).toMatch(
          /is not on the store's backups volume.*make a new backup/,
        );
      });

      it('answers 503 saying what to do when the pod proxy fails', async () => {
        const { storeId, backupIds } = await storeWithBackups('Succeeded');
        fake.injectFault(
          { status: 500, message: 'proxy error' },
          1,
          (_method, path) => path.includes('/proxy/'),
        );
        const res = await download(storeId, backupIds[0]);
        expect(res.status).toBe(503);
        expect(JSON.parse(res.body.toString()).error.message).toMatch(
          /proxy to the backup reader answered HTTP 500; try again in a minute/,
        );
      });

      it.each([
        [
          'the pod proxy',
          (_method: string, path: string) => path.includes('/proxy/'),
          /^Kubernetes refused Storeplane's read through the pod proxy \(403\): pods "backup-reader" is forbidden\. .*pods\/proxy.*storeplane-rbac chart$/,
        ],
        [
          'the reader pod',
          (method: string, path: string) =>
            method === 'GET' && path.endsWith('/pods/backup-reader'),
          /^Kubernetes refused Storeplane's request for the backup reader pod \(403\): pods "backup-reader" is forbidden\. .*storeplane-rbac chart$/,
        ],
      ])(
        'answers 503 naming the missing permission when Kubernetes refuses %s',
        async (_, match, message) => {
          const { storeId, backupIds } = await storeWithBackups('Succeeded');
          fake.injectFault(
            { status: 403, message: 'pods "backup-reader" is forbidden' },
            1,
            match,
          );
          const res = await download(storeId, backupIds[0]);
          expect(res.status).toBe(503);
          expect(JSON.parse(res.body.toString()).error.message).toMatch(
            message,
          );
        },
      );

      it('records a restore for an owner: the store turns Restoring with an event naming who asked', async () => {
        const { storeId, backupIds } = await storeWithBackups('Succeeded');
        const res = await restore(storeId, backupIds[0]);
        expect(res.status).toBe(202);
        expect(res.body).toMatchObject({
          id: storeId,
          status: 'Restoring',
          step: 'restore',
        });
        const [row] = await db('store_restores').where({ store_id: storeId });
        expect(row).toMatchObject({
          backup_id: backupIds[0],
          status: 'Running',
          requested_by: 'user:default/ann',
        });
        const events = (
          await request(app)
            .get(`/api/stores/stores/${storeId}/events`)
            .set('Authorization', ANN)
        ).body.items;
        expect(events).toContainEqual(
          expect.objectContaining({
            type: 'restore.requested',
            actor: 'user:default/ann',
          }),
        );
        // Restoring: neither a second restore nor a backup is accepted.
        const before = await written(storeId);
        const second = await restore(storeId, backupIds[0]);
        expect(second.status).toBe(409);
        expect(second.body.error.message).toMatch(
          /is Restoring \(step restore\); only a Ready or Degraded store can be restored/,
        );
        expect(
          (
            await request(app)
              .post(`/api/stores/stores/${storeId}/backups`)
              .set('Authorization', ANN)
          ).status,
        ).toBe(409);
        expect(await written(storeId)).toEqual(before);
      });

      it('refuses, writing nothing: 403 non-owner, 404 unknown store or backup, 409 backup not Succeeded or a backup running, 400 a body field', async () => {
        const { storeId, backupIds } = await storeWithBackups(
          'Succeeded',
          'Failed',
          'Pending',
        );
        const before = await written(storeId);
        const denied = await restore(storeId, backupIds[0], BOB);
        expect(denied.status).toBe(403);
        expect(denied.body.error.message).toMatch(
          /You may not restore a backup of store .*storeplane\.store\.restore/,
        );
        expect((await restore('nope-12345', backupIds[0])).status).toBe(404);
        expect((await restore(storeId, 'nope')).status).toBe(404);
        const failed = await restore(storeId, backupIds[1]);
        expect(failed.status).toBe(409);
        expect(failed.body.error.message).toMatch(
          /has not Succeeded; only a Succeeded backup can be restored/,
        );
        const busy = await restore(storeId, backupIds[0]);
        expect(busy.status).toBe(409);
        expect(busy.body.error.message).toMatch(
          /has a backup that has not finished; wait for it, then restore/,
        );
        const extra = await request(app)
          .post(`/api/stores/stores/${storeId}/backups/${backupIds[0]}/restore`)
          .set('Authorization', ANN)
          .send({ force: true });
        expect(extra.status).toBe(400);
        expect(await written(storeId)).toEqual(before);
        // An administrator may restore.
        await db('store_backups').where({ id: backupIds[2] }).delete();
        expect((await restore(storeId, backupIds[0], ADA)).status).toBe(202);
      });
    });

    describe('fleet rollouts (/rollouts)', () => {
      let app: Awaited<ReturnType<typeof startBackend>>;
      let db: Knex;
      beforeAll(async () => {
        db = await databases.init(databaseId);
        app = await startBackend({ knex: db });
      });
      /** Ready stores on an older chart, written directly; the far next look keeps the loop away. */
      async function storesOnOldChart(count: number) {
        const ids: string[] = [];
        for (let i = 0; i < count; i++) {
          const created = await request(app)
            .post('/api/stores/stores')
            .set('Authorization', ANN)
            .send({ ...valid, name: `fleet ${i} ${Date.now() % 100000}` });
          await db('stores')
            .where({ id: created.body.id })
            .update({
              status: 'Ready',
              step: null,
              chart_version: '0.0.9',
              generation: db.raw('generation + 1'),
              next_attempt_at: Date.now() + 3_600_000,
            });
          ids.push(created.body.id);
        }
        return ids;
      }
      const rolloutRows = async () =>
        Number((await db('store_rollouts').count({ n: '*' }).first())?.n ?? 0);
      const call = (
        method: 'get' | 'post',
        path: string,
        caller: string,
        body?: object,
      ) => {
        const req = request(app)
          [method](`/api/stores${path}`)
          .set('Authorization', caller);
        return body ? req.send(body) : req;
      };

      it('keeps every rollout route to administrators (403 for an owner of stores) and writes nothing', async () => {
        await storesOnOldChart(1);
        const before = await rolloutRows();
        for (const [method, path, permission] of [
          ['get', '/rollouts', 'storeplane.rollout.read'],
          ['post', '/rollouts', 'storeplane.rollout.create'],
          ['get', '/rollouts/rollout-1', 'storeplane.rollout.read'],
          ['post', '/rollouts/rollout-1/pause', 'storeplane.rollout.manage'],
          ['post', '/rollouts/rollout-1/resume', 'storeplane.rollout.manage'],
          ['post', '/rollouts/rollout-1/abort', 'storeplane.rollout.manage'],
        ] as const) {
          const res = await call(method, path, ANN);
          expect([path, res.status]).toEqual([path, 403]);
          expect(res.body.error.message).toContain(permission);
        }
        expect(await rolloutRows()).toBe(before);
      });

      it('refuses bad rollout input with 400 and writes nothing', async () => {
        await storesOnOldChart(1);
        const before = await rolloutRows();
        for (const [body, message] of [
          [{ waves: 3 }, /Unknown field in the request body: waves/],
          [{ waveSize: 0 }, /waveSize/],
          [{ waveSize: 'two' }, /waveSize/],
          [{ pauseSeconds: -1 }, /pauseSeconds/],
          [{ maxFailures: 0 }, /maxFailures/],
          [{ engine: 'Not An Engine!' }, /engine/],
          [{ targetChartVersion: '9.9.9' }, /installs chart 0\.1\.0/],
        ] as const) {
          const res = await call('post', '/rollouts', ADA, body);
          expect([body, res.status]).toEqual([body, 400]);
          expect(res.body.error.message).toMatch(message);
        }
        expect((await call('get', '/rollouts/Bad_Id!', ADA)).status).toBe(400);
        expect((await call('get', '/rollouts?limit=0', ADA)).status).toBe(400);
        expect((await call('get', '/rollouts/rollout-none', ADA)).status).toBe(
          404,
        );
        expect(
          (await call('post', '/rollouts/rollout-none/pause', ADA)).status,
        ).toBe(404);
        expect(await rolloutRows()).toBe(before);
      });

      it('starts a rollout for an administrator in waves after a canary, one at a time, and pauses, resumes and aborts it', async () => {
        const ids = await storesOnOldChart(4);
        const created = await call('post', '/rollouts', ADA, {
          waveSize: 2,
          pauseSeconds: 0,
          maxFailures: 1,
        });
        expect(created.status).toBe(202);
        expect(created.body).toMatchObject({
          status: 'Pending',
          engine: 'woocommerce',
          targetChartVersion: '0.1.0',
          waveSize: 2,
          pauseSeconds: 0,
          maxFailures: 1,
          currentWave: 0,
          haltReason: null,
          createdBy: 'user:default/ada',
        });
        const rolloutId: string = created.body.id;

        const details = await call('get', `/rollouts/${rolloutId}`, ADA);
        expect(details.status).toBe(200);
        const waves = new Map<string, number>(
          details.body.stores.map((s: { storeId: string; wave: number }) => [
            s.storeId,
            s.wave,
          ]),
        );
        for (const id of ids) expect(waves.has(id)).toBe(true);
        // The oldest candidate alone in the canary wave, then waves of two.
        const byWave = [...waves.values()];
        expect(byWave.filter(w => w === 1)).toHaveLength(1);
        expect(Math.max(...byWave)).toBe(created.body.waveCount);
        expect(
          details.body.stores.map((s: { result: string }) => s.result),
        ).toEqual(details.body.stores.map(() => 'pending'));
        expect(details.body.events[0]).toMatchObject({
          type: 'requested',
          actor: 'user:default/ada',
        });
        const listed = await call('get', '/rollouts', ADA);
        expect(listed.body.items[0]).toMatchObject({ id: rolloutId });

        const second = await call('post', '/rollouts', ADA, {});
        expect(second.status).toBe(409);
        expect(second.body.error.message).toContain(rolloutId);

        const paused = await call('post', `/rollouts/${rolloutId}/pause`, ADA);
        expect([paused.status, paused.body.status]).toEqual([200, 'Paused']);
        expect(
          (await call('post', `/rollouts/${rolloutId}/pause`, ADA)).status,
        ).toBe(409);
        const resumed = await call(
          'post',
          `/rollouts/${rolloutId}/resume`,
          ADA,
        );
        expect([resumed.status, resumed.body.status]).toEqual([200, 'Running']);
        const aborted = await call('post', `/rollouts/${rolloutId}/abort`, ADA);
        expect([aborted.status, aborted.body.status]).toEqual([200, 'Aborted']);
        const again = await call('post', `/rollouts/${rolloutId}/abort`, ADA);
        expect(again.status).toBe(409);
        expect(again.body.error.message).toMatch(/is Aborted/);
        const events = (await call('get', `/rollouts/${rolloutId}`, ADA)).body
          .events;
        expect(events.map((e: { type: string }) => e.type)).toEqual(
          expect.arrayContaining(['requested', 'paused', 'resumed', 'aborted']),
        );
      });
    });

    describe('custom domain (/stores/:id/domain)', () => {
      let app: Awaited<ReturnType<typeof startBackend>>;
      let db: Knex;
      let id: string;
      beforeAll(async () => {
        db = await databases.init(databaseId);
        app = await startBackend({ knex: db });
      });
      /** A Ready store, written directly: the reconciler is not what these tests are about. */
      async function readyStore(name: string) {
        const created = await request(app)
          .post('/api/stores/stores')
          .set('Authorization', ANN)
          .send({ ...valid, name });
        // A new generation fences off a claim at work; the far next look keeps the loop away.
        await db('stores')
          .where({ id: created.body.id })
          .update({
            status: 'Ready',
            step: null,
            generation: db.raw('generation + 1'),
            next_attempt_at: Date.now() + 3_600_000,
          });
        return created.body.id as string;
      }
      beforeEach(async () => {
        id = await readyStore(
          `domain shop ${Math.random().toString(36).slice(2, 7)}`,
        );
      });
      const domainOf = (storeId: string) =>
        request(app)
          .get(`/api/stores/stores/${storeId}/domain`)
          .set('Authorization', ANN);
      const setDomain = (body: unknown, caller = ANN, storeId = id) =>
        request(app)
          .post(`/api/stores/stores/${storeId}/domain`)
          .set('Authorization', caller)
          .send(body as object);
      const row = async (storeId = id) =>
        db('stores')
          .where({ id: storeId })
          .first('domain', 'status', 'generation', 'domain_status');

      it('sets a domain for an owner: the store becomes Updating with an event, and GET says what to point it at', async () => {
        expect((await domainOf(id)).body).toEqual({
          domain: null,
          status: null,
          expectedTarget: 'ingress.example.net',
          checkedAt: null,
          message: null,
        });
        const res = await setDomain({ domain: 'shop.example.org' });
        expect(res.status).toBe(202);
        expect(res.body).toMatchObject({
          domain: 'shop.example.org',
          status: null,
          expectedTarget: 'ingress.example.net',
        });
        expect(res.body.message).toMatch(/Helm upgrade is adding the domain/);
        expect(await row()).toMatchObject({
          domain: 'shop.example.org',
          status: 'Updating',
        });
        const events = (
          await request(app)
            .get(`/api/stores/stores/${id}/events`)
            .set('Authorization', ANN)
        ).body.items;
        // The reconciler, woken by the change, may have added its own events since.
        expect(events).toContainEqual(
          expect.objectContaining({
            type: 'domain.set',
            actor: 'user:default/ann',
          }),
        );
        // Changing it again waits for the running update.
        const again = await setDomain({ domain: 'other.example.org' });
        expect(again.status).toBe(409);
        expect(again.body.error.message).toMatch(/is Updating/);
      });

      it('refuses bad domains with 400 and changes nothing', async () => {
        const before = await row();
        for (const [domain, message] of [
          ['localhost', /at least two labels/],
          ['Shop.Example.org', /lower case/],
          ['10.0.0.1', /IP address/],
          ['*.example.org', /wildcards/],
          ['shop..example.org', /not a valid label/],
          ['-shop.example.org', /not a valid label/],
          [`${'a'.repeat(64)}.example.org`, /not a valid label/],
          ['shop.example.org.', /trailing dot/],
          [
            'x.stores.example.com',
            /platform's own domain stores\.example\.com/,
          ],
          ['stores.example.com', /platform's own domain/],
          ['shop.123', /all digits/],
        ] as const) {
          const res = await setDomain({ domain });
          expect([domain, res.status]).toEqual([domain, 400]);
          expect(res.body.error.message).toMatch(message);
        }
        const long = await setDomain({
          domain: `${Array(64).fill('abc').join('.')}.org`,
        });
        expect(long.status).toBe(400);
        const extra = await setDomain({ domain: 'a.example.org', tls: true });
        expect(extra.status).toBe(400);
        expect(extra.body.error.message).toMatch(
          /Unknown field in the request body: tls; allowed fields are domain/,
        );
        expect((await setDomain({})).status).toBe(400);
        expect((await setDomain({ domain: 7 })).status).toBe(400);
        expect(await row()).toEqual(before);
      });

      it('is owner-only (403), gives one domain to one store (409), and removes a domain back to the platform host', async () => {
        const before = await row();
        const denied = await setDomain({ domain: 'bob.example.org' }, BOB);
        expect(denied.status).toBe(403);
        expect(denied.body.error.message).toMatch(/storeplane\.store\.update/);
        expect(await row()).toEqual(before);

        expect((await setDomain({ domain: 'taken.example.org' })).status).toBe(
          202,
        );
        const other = await readyStore('domain other');
        const otherBefore = await row(other);
        const taken = await setDomain(
          { domain: 'taken.example.org' },
          ANN,
          other,
        );
        expect(taken.status).toBe(409);
        expect(taken.body.error.message).toMatch(/belongs to another store/);
        expect(await row(other)).toEqual(otherBefore);

        // Once the update is through, the owner removes the domain.
        await db('stores').where({ id }).update({
          status: 'Ready',
          step: null,
          applied_domain: 'taken.example.org',
        });
        const bobRemoves = await request(app)
          .delete(`/api/stores/stores/${id}/domain`)
          .set('Authorization', BOB);
        expect(bobRemoves.status).toBe(403);
        const removed = await request(app)
          .delete(`/api/stores/stores/${id}/domain`)
          .set('Authorization', ANN);
        expect(removed.status).toBe(202);
        expect(removed.body).toMatchObject({ domain: null, status: null });
        expect(await row()).toMatchObject({ domain: null, status: 'Updating' });
        // Still served by the release until the upgrade is through: nobody else gets it yet.
        expect(
          (await setDomain({ domain: 'taken.example.org' }, ANN, other)).status,
        ).toBe(409);
        await db('stores')
          .where({ id })
          .update({ status: 'Ready', step: null });
        const nothing = await request(app)
          .delete(`/api/stores/stores/${id}/domain`)
          .set('Authorization', ANN);
        expect(nothing.status).toBe(409);
        expect(nothing.body.error.message).toMatch(/has no custom domain/);
        expect((await domainOf('nope-12345')).status).toBe(404);
      });
    });
  },
);
