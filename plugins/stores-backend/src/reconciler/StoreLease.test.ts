import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { http } from 'msw';
import { setupServer } from 'msw/node';
import { storeTestDatabases } from '../__testUtils__/databases';
import {
  FakeKubernetesApi,
  FAKE_KUBE_SERVER,
} from '@internal/stores-test-utils';
import { createHarness } from '../__testUtils__/harness';

const databases = storeTestDatabases();
const server = setupServer();
registerMswTestHooks(server);

const OWNER = 'group:default/team-a';
const USER = 'user:default/ann';

/** Holds the first request matching `pattern` until `open()` is called. */
function gate(pattern: RegExp, method: string) {
  let open!: () => void;
  const opened = new Promise<void>(resolve => {
    open = resolve;
  });
  let reached!: () => void;
  const arrived = new Promise<void>(resolve => {
    reached = resolve;
  });
  let used = false;
  const handler = http.all(`${FAKE_KUBE_SERVER}/*`, async ({ request }) => {
    if (used || request.method !== method) return undefined;
    if (!pattern.test(new URL(request.url).pathname)) return undefined;
    used = true;
    reached();
    await opened;
    return undefined;
  });
  return { handler, arrived, open };
}

const isWrite = (request: string) => /^(POST|PATCH|PUT|DELETE) /.test(request);

describe.each(databases.eachSupportedId())(
  'leases of the reconciler on %s',
  databaseId => {
    let fake: FakeKubernetesApi;

    beforeEach(() => {
      fake = new FakeKubernetesApi();
      server.use(...fake.handlers());
    });

    async function twoReplicas(configOverrides?: Record<string, unknown>) {
      const knex = await databases.init(databaseId);
      const a = await createHarness(knex, {
        replicaId: 'replica-a',
        configOverrides,
      });
      const b = await createHarness(knex, {
        replicaId: 'replica-b',
        migrate: false,
        clock: a.clock,
        configOverrides,
      });
      return { a, b };
    }

    it('a worker that lost its store cannot re-create the namespace after the store is gone', async () => {
      const { a, b } = await twoReplicas();
      const store = await a.service.createStore(
        { name: 'fenced', owner: OWNER, plan: 'small' },
        USER,
      );
      // Replica A stalls on its first look at the cluster (a GC pause, a slow API server)...
      const stall = gate(
        /^\/api\/v1\/namespaces\/store-fenced-[a-z0-9]+$/,
        'GET',
      );
      server.use(stall.handler);
      const stalled = a.loop.runOnce();
      await stall.arrived;

      // ...long enough for its lease to expire; the user deletes the store, and replica B
      // deletes it completely (nothing was created yet, so that is quick).
      await b.service.deleteStore(
        (await b.repository.getStore(store.id))!,
        USER,
      );
      a.clock.shiftMs += 61_000;
      await b.runUntil(
        store.id,
        s => s === undefined,
        10,
        () => fake.progress(),
      );
      expect(await b.repository.getStore(store.id)).toBeUndefined();

      const seen = fake.requests.length;
      stall.open();
      await stalled;
      // A read "namespace not found" and would have created it: an orphan. Its lease check
      // stopped it before that write.
      expect(fake.requests.slice(seen).filter(isWrite)).toEqual([]);
      expect(fake.get('Namespace', undefined, store.namespace)).toBeUndefined();
      expect(a.logs.join('\n')).toContain(
        `Lost the lease on store ${store.id}`,
      );
    });

    it('a worker whose lease was taken over stops before its next write and changes nothing in the database', async () => {
      const { a, b } = await twoReplicas();
      const store = await a.service.createStore(
        { name: 'taken', owner: OWNER, plan: 'small' },
        USER,
      );
      const stall = gate(/\/resourcequotas\/storeplane-quota$/, 'PATCH');
      server.use(stall.handler);
      const stalled = a.loop.runOnce();
      await stall.arrived;

      a.clock.shiftMs += 61_000;
      await b.runUntil(
        store.id,
        s => s?.status === 'Ready',
        30,
        () => fake.progress(),
      );
      const before = await b.repository.getStore(store.id);
      const seen = fake.requests.length;
      stall.open();
      await stalled;
      // The write that was already on its way lands (an idempotent apply); nothing after it.
      expect(fake.requests.slice(seen).filter(isWrite)).toEqual([
        `PATCH /api/v1/namespaces/${store.namespace}/resourcequotas/storeplane-quota`,
      ]);
      expect(await b.repository.getStore(store.id)).toEqual(before);
    });

    it('a long step keeps its lease alive with the heartbeat', async () => {
      const { a, b } = await twoReplicas({
        reconciler: {
          lease: { seconds: 3 },
          initialBackoff: { milliseconds: 1 },
          maxBackoff: { milliseconds: 2 },
          maxAttempts: 4,
        },
      });
      const store = await a.service.createStore(
        { name: 'slow', owner: OWNER, plan: 'small' },
        USER,
      );
      const stall = gate(/\/limitranges\/storeplane-limits$/, 'PATCH');
      server.use(stall.handler);
      const stalled = a.loop.runOnce();
      await stall.arrived;
      // Real time passes beyond the 3 s lease while the step is stuck in one call.
      await new Promise(resolve => setTimeout(resolve, 4500));
      expect(await b.loop.runOnce()).toBe(0);
      const held = await b.repository.getStore(store.id);
      expect(held!.leaseHolder).toMatch(/^replica-a\//);
      expect(held!.leaseExpiresAt).toBeGreaterThan(
        await b.repository.databaseNow(),
      );
      stall.open();
      await stalled;
      expect((await a.repository.getStore(store.id))!.step).not.toBe(
        'guardrails',
      );
    }, 15_000);
  },
);
