import {
  coreServices,
  createServiceFactory,
  ServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import {
  authWithActorsServiceFactory,
  FakeKubernetesApi,
  FAKE_KUBE_SERVER,
  testConfigData,
  waitFor,
} from '@internal/stores-test-utils';
import { http } from 'msw';
import { setupServer } from 'msw/node';
import { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { storeTestDatabases } from './__testUtils__/databases';
import { storesPlugin } from './plugin';

// Requests to the test backend itself (supertest) must pass through msw untouched.
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'bypass' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const databases = storeTestDatabases();
const ANN = mockCredentials.user.header('user:default/ann');

const entity = (kind: 'User' | 'Group', name: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind,
  metadata: { name, namespace: 'default' },
  spec: kind === 'Group' ? { type: 'team', children: [] } : {},
});

/**
 * The stores plugin with Ann as a member of team-a, a fake cluster at FAKE_KUBE_SERVER, and the
 * given database service.
 */
function startStoresBackend(database: ServiceFactory) {
  return startTestBackend({
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
          // The safety-net tick never comes during the test: only the loop's own
          // wake-ups (the create, then each waiting step's due time) move the store.
          reconciler: { frequency: { hours: 1 } },
        }),
      }),
      authWithActorsServiceFactory,
      mockServices.userInfo.mock({
        getUserInfo: async () => ({
          userEntityRef: 'user:default/ann',
          ownershipEntityRefs: ['user:default/ann', 'group:default/team-a'],
        }),
      }).factory,
      catalogServiceMock.factory({
        entities: [entity('User', 'ann'), entity('Group', 'team-a')],
      }),
      database,
    ],
  });
}

async function createStore(backend: { server: Server }, name: string) {
  const created = await request(backend.server)
    .post('/api/stores/stores')
    .set('Authorization', ANN)
    .send({ name, owner: 'group:default/team-a', plan: 'small' });
  expect(created.status).toBe(201);
  return created.body.id as string;
}

async function waitForReady(backend: { server: Server }, storeId: string) {
  await waitFor(
    'the store to be Ready',
    async () => {
      const res = await request(backend.server)
        .get(`/api/stores/stores/${storeId}`)
        .set('Authorization', ANN);
      return res.body.status === 'Ready' ? true : undefined;
    },
    30_000,
  );
}

/** An msw handler that, once told to hold, keeps requests to the cluster waiting until released. */
function holdableRequests() {
  let holding = false;
  let held = 0;
  let release = () => {};
  const released = new Promise<void>(resolve => {
    release = resolve;
  });
  return {
    // Answering nothing passes the request on to the next handler (the fake cluster).
    handler: http.all(`${FAKE_KUBE_SERVER}/*`, async ({ request: req }) => {
      if (!holding || new URL(req.url).searchParams.get('watch') === 'true')
        return;
      held++;
      await released;
    }),
    hold: () => {
      holding = true;
    },
    held: () => held,
    release: () => release(),
  };
}

describe.each(databases.eachSupportedId())(
  'the stores plugin on %s',
  databaseId => {
    it('reconciles a store when it falls due with the scheduler tick out of the way, and stops on shutdown', async () => {
      const fake = new FakeKubernetesApi();
      // The Job, Deployment and namespace controllers act between requests.
      fake.autoProgress = true;
      server.use(...fake.handlers());
      const knex = await databases.init(databaseId);
      const backend = await startStoresBackend(
        mockServices.database.factory({ knex }),
      );

      const requestedAt = Date.now();
      const storeId = await createStore(backend, 'Due Time');
      await waitForReady(backend, storeId);
      // At least one waiting step's requeue (3 s) was waited out and picked up by the timer.
      expect(Date.now() - requestedAt).toBeGreaterThanOrEqual(3_000);

      // A delete wakes the loop; shutdown comes while that claim may be in flight. The
      // stopped loop releases what it holds and claims nothing more: the uninstall's wait
      // (3 s) passes without another request to the cluster.
      const deleted = await request(backend.server)
        .delete(`/api/stores/stores/${storeId}`)
        .set('Authorization', ANN);
      expect(deleted.status).toBe(202);
      await backend.stop();
      const requestsAtStop = fake.requests.length;
      expect(requestsAtStop).toBeGreaterThan(0);
      await sleep(3_500);
      expect(fake.requests.slice(requestsAtStop)).toEqual([]);
      expect(await knex('stores').where({ id: storeId }).first()).toMatchObject(
        { status: 'Deleting', lease_holder: null },
      );
    }, 60_000);

    // Backstage's dev data store (`yarn dev`, in-memory SQLite) takes the plugin's only
    // connection in a plugin shutdown hook and keeps it, to save the database across restarts.
    // This database service does the same with every connection of the pool.
    it('stops the reconcile loop before plugins shut down, so a claim in flight still finishes and releases its store', async () => {
      const fake = new FakeKubernetesApi();
      fake.autoProgress = true;
      const cluster = holdableRequests();
      server.use(cluster.handler, ...fake.handlers());
      const knex = await databases.init(databaseId);
      // A claim that cannot reach the database fails in seconds rather than a minute.
      knex.client.pool.acquireTimeoutMillis = 5_000;
      let storeId = '';
      let atPluginShutdown: { lease_holder: string | null } | undefined;
      let taken: unknown[] = [];
      const takesTheDatabaseOnShutdown = createServiceFactory({
        service: coreServices.database,
        deps: { lifecycle: coreServices.lifecycle },
        factory: ({ lifecycle }) => {
          lifecycle.addShutdownHook(async () => {
            atPluginShutdown = await knex('stores')
              .where({ id: storeId })
              .first('lease_holder');
            taken = await Promise.all(
              Array.from({ length: knex.client.pool.max }, () =>
                knex.client.acquireConnection(),
              ),
            );
          });
          return { getClient: async () => knex };
        },
      });
      const backend = await startStoresBackend(takesTheDatabaseOnShutdown);
      storeId = await createStore(backend, 'Shutdown Order');
      await waitForReady(backend, storeId);

      // The delete's claim waits on the cluster when shutdown begins.
      cluster.hold();
      const deleted = await request(backend.server)
        .delete(`/api/stores/stores/${storeId}`)
        .set('Authorization', ANN);
      expect(deleted.status).toBe(202);
      await waitFor('a claim to wait on the cluster', async () =>
        cluster.held() > 0 ? true : undefined,
      );
      const stopped = backend.stop();
      // Long enough for plugin shutdown hooks to run, were the loop still going.
      await sleep(500);
      cluster.release();
      await stopped;
      await Promise.all(taken.map(c => knex.client.releaseConnection(c)));

      expect(atPluginShutdown).toEqual({ lease_holder: null });
      expect(await knex('stores').where({ id: storeId }).first()).toMatchObject(
        { status: 'Deleting', lease_holder: null },
      );
    }, 60_000);
  },
);
