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
import { setupServer } from 'msw/node';
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

describe.each(databases.eachSupportedId())(
  'the stores plugin on %s',
  databaseId => {
    it('reconciles a store when it falls due with the scheduler tick out of the way, and stops on shutdown', async () => {
      const fake = new FakeKubernetesApi();
      // The Job, Deployment and namespace controllers act between requests.
      fake.autoProgress = true;
      server.use(...fake.handlers());
      const knex = await databases.init(databaseId);
      const backend = await startTestBackend({
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
          mockServices.database.factory({ knex }),
        ],
      });

      const requestedAt = Date.now();
      const created = await request(backend.server)
        .post('/api/stores/stores')
        .set('Authorization', ANN)
        .send({
          name: 'Due Time',
          owner: 'group:default/team-a',
          plan: 'small',
        });
      expect(created.status).toBe(201);
      await waitFor(
        'the store to be Ready',
        async () => {
          const res = await request(backend.server)
            .get(`/api/stores/stores/${created.body.id}`)
            .set('Authorization', ANN);
          return res.body.status === 'Ready' ? true : undefined;
        },
        30_000,
      );
      // At least one waiting step's requeue (3 s) was waited out and picked up by the timer.
      expect(Date.now() - requestedAt).toBeGreaterThanOrEqual(3_000);

      // A delete wakes the loop; shutdown comes while that claim may be in flight. The
      // stopped loop releases what it holds and claims nothing more: the uninstall's wait
      // (3 s) passes without another request to the cluster.
      const deleted = await request(backend.server)
        .delete(`/api/stores/stores/${created.body.id}`)
        .set('Authorization', ANN);
      expect(deleted.status).toBe(202);
      await backend.stop();
      const requestsAtStop = fake.requests.length;
      expect(requestsAtStop).toBeGreaterThan(0);
      await sleep(3_500);
      expect(fake.requests.slice(requestsAtStop)).toEqual([]);
      expect(
        await knex('stores').where({ id: created.body.id }).first(),
      ).toMatchObject({ status: 'Deleting', lease_holder: null });
    }, 60_000);
  },
);
