import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { setupServer } from 'msw/node';
import request from 'supertest';
import { storesPlugin } from '../plugin';
import {
  FakeKubernetesApi,
  FAKE_KUBE_SERVER,
  testConfigData,
} from '@internal/stores-test-utils';

// Requests to the test backend itself (supertest) must pass through msw untouched.
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'bypass' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const ANN = mockCredentials.user.header('user:default/ann');
const BOB = mockCredentials.user.header('user:default/bob');
const valid = {
  name: 'Summer Sale',
  owner: 'group:default/team-a',
  plan: 'small',
};

async function startBackend(
  options: {
    limits?: Record<string, unknown>;
    permissions?: ReturnType<typeof mockServices.permissions.mock>;
  } = {},
) {
  const { server: app } = await startTestBackend({
    features: [
      storesPlugin,
      mockServices.rootConfig.factory({
        data: testConfigData({
          kubernetes: {
            source: 'url',
            url: FAKE_KUBE_SERVER,
            token: 'test',
            skipTLSVerify: true,
          },
          // The reconciler is exercised elsewhere; keep its schedule out of the way.
          reconciler: { frequency: { hours: 1 } },
          ...(options.limits ? { limits: options.limits } : {}),
        }),
      }),
      ...(options.permissions ? [options.permissions.factory] : []),
    ],
  });
  return app;
}

describe('stores router', () => {
  let fake: FakeKubernetesApi;
  beforeEach(() => {
    fake = new FakeKubernetesApi();
    server.use(...fake.handlers());
  });

  it('requires authentication on every route', async () => {
    const app = await startBackend();
    for (const [method, path] of [
      ['get', '/api/stores/stores'],
      ['post', '/api/stores/stores'],
      ['get', '/api/stores/stores/x'],
      ['delete', '/api/stores/stores/x'],
      ['get', '/api/stores/plans'],
    ] as const) {
      const res = await request(app)
        [method](path)
        .set('Authorization', mockCredentials.none.header());
      expect(res.status).toBe(401);
    }
  });

  it('creates, reads, lists and deletes a store', async () => {
    const app = await startBackend();
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
    expect(byEntity.body.items.map((s: any) => s.id)).toEqual([id]);

    const filtered = await request(app)
      .get('/api/stores/stores?status=Ready')
      .set('Authorization', ANN);
    expect(filtered.body).toMatchObject({ items: [], totalCount: 0 });

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

  const badInputs: Array<[string, unknown, RegExp]> = [
    [
      'a missing name',
      { owner: 'group:default/team-a' },
      /name: name is required/,
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
    ['an unknown field', { ...valid, replicas: 9 }, /replicas/],
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
    ['a body that is not an object', ['x'], /Invalid store request/],
  ];

  it.each(badInputs)(
    'rejects %s with 400 and writes nothing',
    async (_, body, message) => {
      const app = await startBackend();
      const res = await request(app)
        .post('/api/stores/stores')
        .set('Authorization', ANN)
        .send(body as object);
      expect(res.status).toBe(400);
      expect(res.body.error.name).toBe('InputError');
      expect(res.body.error.message).toMatch(message);
      const list = await request(app)
        .get('/api/stores/stores')
        .set('Authorization', ANN);
      expect(list.body.totalCount).toBe(0);
    },
  );

  it('rejects a bad list query with 400', async () => {
    const app = await startBackend();
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
    const app = await startBackend({ permissions });
    const res = await request(app)
      .post('/api/stores/stores')
      .set('Authorization', ANN)
      .send(valid);
    expect(res.status).toBe(403);
    expect(res.body.error.message).toMatch(/storeplane\.store\.create/);
    const list = await request(app)
      .get('/api/stores/stores')
      .set('Authorization', ANN);
    expect(list.body).toMatchObject({ items: [], totalCount: 0 });
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
    const app = await startBackend({ permissions });
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

  it('returns credentials from the cluster Secret, never cached', async () => {
    const app = await startBackend();
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
    const app = await startBackend({
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
          .send({ ...valid, name: 'four' })
      ).status,
    ).toBe(201);
  });

  it('limits active stores per owner', async () => {
    const app = await startBackend({
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
    const res = await request(app)
      .post('/api/stores/stores')
      .set('Authorization', BOB)
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
    const app = await startBackend({ limits });
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
    const app = await startBackend();
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
});
