import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { ConflictError } from '@backstage/errors';
import {
  FAKE_KUBE_SERVER as FAKE_KUBE,
  FakeKubernetesApi,
} from '@internal/stores-test-utils';
import { setupServer } from 'msw/node';
import { storeTestDatabases } from '../__testUtils__/databases';
import { createHarness, Harness } from '../__testUtils__/harness';

const databases = storeTestDatabases();
const server = setupServer();
registerMswTestHooks(server);

const OWNER = 'group:default/team-a';
const USER = 'user:default/ann';

describe.each(databases.eachSupportedId())(
  'checks of Ready stores on %s',
  databaseId => {
    let fake: FakeKubernetesApi;

    beforeEach(() => {
      fake = new FakeKubernetesApi();
      fake.rbacRequiresManagerBinding = true;
      server.use(...fake.handlers());
    });

    async function readyStore() {
      const knex = await databases.init(databaseId);
      const harness = await createHarness(knex, {
        configOverrides: {
          monitor: { interval: '1m' },
          kubernetes: {
            rbac: {
              serviceAccount: {
                namespace: 'storeplane-system',
                name: 'storeplane',
              },
            },
          },
        },
      });
      const created = await harness.service.createStore(
        { name: 'watched', owner: OWNER, plan: 'small' },
        USER,
      );
      const store = await harness.runUntil(
        created.id,
        s => s?.status === 'Ready',
        30,
        () => fake.progress(),
      );
      return { harness, store: store!, ns: created.namespace };
    }

    /** Lets one check interval pass on the database's clock and runs one reconcile pass. */
    async function checkAgain(harness: Harness, id: string) {
      harness.clock.shiftMs += harness.config.monitor.intervalMs;
      await harness.loop.runOnce();
      return (await harness.repository.getStore(id))!;
    }

    const newEvents = async (harness: Harness, id: string, after: number) =>
      (await harness.repository.listEvents(id, 100))
        .filter(e => e.id > after)
        .reverse();
    const lastEventId = async (harness: Harness, id: string) =>
      (await harness.repository.listEvents(id, 1))[0].id;

    const versions = () =>
      Object.fromEntries(
        [
          ...fake.list('Namespace'),
          ...fake.list('ResourceQuota'),
          ...fake.list('LimitRange'),
          ...fake.list('NetworkPolicy'),
          ...fake.list('ServiceAccount'),
          ...fake.list('RoleBinding'),
        ].map(o => [
          `${o.kind}/${o.metadata.name}`,
          o.metadata.resourceVersion,
        ]),
      );

    it('is not due before its interval, then a passing check changes nothing, in the cluster or the row', async () => {
      const { harness, store } = await readyStore();
      const before = versions();
      const since = await lastEventId(harness, store.id);

      const requestsBefore = fake.requests.length;
      await harness.loop.runOnce();
      expect(fake.requests.length).toBe(requestsBefore);

      const checked = await checkAgain(harness, store.id);
      // Discovery (GET /api/v1, /apis/<group>/<version>) is cached by the shipped client.
      const calls = fake.requests
        .slice(requestsBefore)
        .filter(c => !/^GET \/(api\/v1|apis\/[^/]+\/[^/]+)$/.test(c));
      expect(checked).toMatchObject({
        status: 'Ready',
        lastError: null,
        updatedAt: store.updatedAt,
      });
      expect(checked.nextAttemptAt).toBeGreaterThan(store.nextAttemptAt);
      expect(versions()).toEqual(before);
      expect(await newEvents(harness, store.id, since)).toEqual([]);
      // Read and apply of 12 guardrails (namespace, 2 RoleBindings, quota, limits, 6 network
      // policies, Helm ServiceAccount) and 2 workload lists; the health check (url mode here)
      // goes to WordPress, in serviceProxy mode it is one more API call.
      expect(calls.filter(c => c.startsWith('GET')).length).toBe(14);
      expect(calls.filter(c => c.startsWith('PATCH')).length).toBe(12);
      expect(calls).toHaveLength(26);
    });

    it('turns Degraded when a workload loses its replicas, saying which, and Ready again once they are back', async () => {
      const { harness, store, ns } = await readyStore();
      const since = await lastEventId(harness, store.id);
      fake.get('Deployment', ns, 'woocommerce-wordpress')!.status = {
        replicas: 1,
        availableReplicas: 0,
      };

      const degraded = await checkAgain(harness, store.id);
      expect(degraded).toMatchObject({
        status: 'Degraded',
        step: null,
        lastError:
          'Workloads without all replicas available: Deployment/woocommerce-wordpress',
        storefrontUrl: store.storefrontUrl,
      });
      // Still Degraded for the same reason: no new event.
      expect((await checkAgain(harness, store.id)).status).toBe('Degraded');
      await expect(harness.service.retryStore(degraded, USER)).rejects.toThrow(
        ConflictError,
      );
      expect(
        (
          await harness.repository.listStores({
            status: 'Degraded',
            offset: 0,
            limit: 10,
          })
        ).items.map(s => s.id),
      ).toEqual([store.id]);

      fake.makeWorkloadsAvailable(ns);
      const recovered = await checkAgain(harness, store.id);
      expect(recovered).toMatchObject({ status: 'Ready', lastError: null });
      expect(
        (await newEvents(harness, store.id, since)).map(e => [
          e.type,
          e.level,
          e.message,
        ]),
      ).toEqual([
        [
          'degraded',
          'warning',
          'Store is Degraded: Workloads without all replicas available: Deployment/woocommerce-wordpress',
        ],
        [
          'recovered',
          'info',
          'Every check passes again: workloads available, health check passed, guardrails in place. Store is Ready',
        ],
      ]);
      expect(harness.changes.slice(-2)).toEqual([
        { storeId: store.id, status: 'Degraded' },
        { storeId: store.id, status: 'Ready' },
      ]);
    });

    it('turns Degraded when the health check fails, with the status WordPress answered', async () => {
      const { harness, store } = await readyStore();
      fake.healthStatus = 503;
      expect(await checkAgain(harness, store.id)).toMatchObject({
        status: 'Degraded',
        lastError: 'WordPress answered HTTP 503 on /wp-login.php',
      });
      fake.healthStatus = 200;
      expect((await checkAgain(harness, store.id)).status).toBe('Ready');
    });

    it('restores a NetworkPolicy and the store-manager RoleBinding deleted by hand, with an event, and stays Ready', async () => {
      const { harness, store, ns } = await readyStore();
      const since = await lastEventId(harness, store.id);
      const policy = fake.get('NetworkPolicy', ns, 'storeplane-default-deny')!;
      await fetch(
        `${FAKE_KUBE}/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies/storeplane-default-deny`,
        { method: 'DELETE' },
      );
      await fetch(
        `${FAKE_KUBE}/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings/storeplane-store-manager`,
        { method: 'DELETE' },
      );
      expect(fake.get('NetworkPolicy', ns, 'storeplane-default-deny')).toBe(
        undefined,
      );

      const activityBefore = harness.activity.length;
      const checked = await checkAgain(harness, store.id);
      expect(checked.status).toBe('Ready');
      // The new event is announced (signals), though the status stayed.
      expect(harness.activity.slice(activityBefore)).toEqual([store.id]);
      expect(
        fake.get('NetworkPolicy', ns, 'storeplane-default-deny')!.spec,
      ).toEqual(policy.spec);
      expect(
        fake.get('RoleBinding', ns, 'storeplane-store-manager'),
      ).toBeDefined();
      const events = await newEvents(harness, store.id, since);
      expect(events.map(e => [e.type, e.level, e.message])).toEqual([
        [
          'guardrails.restored',
          'warning',
          'Guardrails deleted or changed outside Storeplane were applied again: RoleBinding/storeplane-store-manager (deleted; created again), NetworkPolicy/storeplane-default-deny (deleted; created again)',
        ],
      ]);
      // Restored once: the next check finds nothing to do.
      const before = versions();
      await checkAgain(harness, store.id);
      expect(versions()).toEqual(before);
      expect(await newEvents(harness, store.id, events[0].id)).toEqual([]);
    });

    it('takes back a guardrail field changed by hand', async () => {
      const { harness, store, ns } = await readyStore();
      const since = await lastEventId(harness, store.id);
      const quota = fake.get('ResourceQuota', ns, 'storeplane-quota')!;
      const hard = structuredClone(quota.spec.hard);
      const response = await fetch(
        `${FAKE_KUBE}/api/v1/namespaces/${ns}/resourcequotas/storeplane-quota?fieldManager=kubectl`,
        {
          method: 'PATCH',
          headers: { 'content-type': 'application/apply-patch+yaml' },
          body: JSON.stringify({
            apiVersion: 'v1',
            kind: 'ResourceQuota',
            metadata: { name: 'storeplane-quota', namespace: ns },
            spec: { hard: { ...hard, 'requests.cpu': '100' } },
          }),
        },
      );
      expect(response.status).toBe(200);

      await checkAgain(harness, store.id);
      expect(
        fake.get('ResourceQuota', ns, 'storeplane-quota')!.spec.hard,
      ).toEqual(hard);
      expect(
        (await newEvents(harness, store.id, since)).map(e => e.message),
      ).toEqual([
        "Guardrails deleted or changed outside Storeplane were applied again: ResourceQuota/storeplane-quota (changed; Storeplane's fields applied again)",
      ]);
    });

    it('marks the store Failed, as the orphan sweep would, when its namespace is gone, and never re-creates it', async () => {
      const { harness, store, ns } = await readyStore();
      fake.list('Namespace')[0].status = { phase: 'Terminating' };
      fake.finalizeTerminatingNamespaces();

      const failed = await checkAgain(harness, store.id);
      expect(failed).toMatchObject({
        status: 'Failed',
        step: 'guardrails',
        lastError: expect.stringContaining(
          `Namespace ${ns} no longer exists: it was deleted outside Storeplane`,
        ),
      });
      expect(fake.list('Namespace')).toEqual([]);
      expect((await harness.repository.listEvents(store.id, 1))[0].type).toBe(
        'namespace.vanished',
      );
    });

    it('keeps the status when the check itself cannot run (API server unavailable), and says so in the log', async () => {
      const { harness, store } = await readyStore();
      const since = await lastEventId(harness, store.id);
      fake.injectFault({ status: 503, message: 'unavailable' }, 100);
      const checked = await checkAgain(harness, store.id);
      expect(checked).toMatchObject({ status: 'Ready', lastError: null });
      expect(checked.nextAttemptAt).toBeGreaterThan(store.nextAttemptAt);
      expect(await newEvents(harness, store.id, since)).toEqual([]);
      expect(harness.logs.join('\n')).toMatch(
        /the periodic check could not run \(server_error\)/,
      );
      expect(harness.metrics.errors).toContain('server_error');
    });

    it('deletes a Degraded store', async () => {
      const { harness, store } = await readyStore();
      fake.healthStatus = 500;
      const degraded = await checkAgain(harness, store.id);
      expect(degraded.status).toBe('Degraded');
      await harness.service.deleteStore(degraded, USER);
      expect(
        await harness.runUntil(
          store.id,
          s => !s,
          30,
          () => fake.progress(),
        ),
      ).toBeUndefined();
    });
  },
);
