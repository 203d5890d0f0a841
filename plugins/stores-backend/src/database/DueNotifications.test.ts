import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { FakeKubernetesApi, testConfigData } from '@internal/stores-test-utils';
import { Knex } from 'knex';
import { setupServer } from 'msw/node';
import { setTimeout as sleep } from 'node:timers/promises';
import { storeTestDatabases } from '../__testUtils__/databases';
import { createHarness, Harness } from '../__testUtils__/harness';
import { DueNotifications, STORE_DUE_CHANNEL } from './DueNotifications';

const databases = storeTestDatabases();
const server = setupServer();
registerMswTestHooks(server);

const OWNER = 'group:default/team-a';
const USER = 'user:default/ann';

function withNotify(enabled: boolean) {
  return {
    configOverrides: {
      reconciler: {
        ...testConfigData().storeplane.reconciler,
        notify: { enabled },
      },
    },
  };
}

/** Backend pids of this database's sessions listening on the channel, other than the test's own. */
async function listeners(knex: Knex): Promise<number[]> {
  const { rows } = await knex.raw(
    `select pid from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and query = ?`,
    [`LISTEN ${STORE_DUE_CHANNEL}`],
  );
  return rows.map((row: { pid: number }) => row.pid);
}

async function until(
  what: string,
  done: () => Promise<boolean> | boolean,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** How long after a create through `a` replica `b` first worked on the store, or undefined within `timeoutMs`. */
async function claimedByOtherReplicaAfter(
  a: Harness,
  b: Harness,
  name: string,
  timeoutMs: number,
): Promise<number | undefined> {
  const created = await a.service.createStore(
    { name, owner: OWNER, plan: 'small' },
    USER,
  );
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (b.activity.includes(created.id)) return Date.now() - start;
    await sleep(10);
  }
  return undefined;
}

const postgres = databases
  .eachSupportedId()
  .filter(([id]) => id.startsWith('POSTGRES'));

// PostgreSQL only: SQLite is opened by one process, so there is no other replica to wake.
(postgres.length
  ? describe.each(postgres)
  : describe.skip.each([['POSTGRES_15' as const]]))(
  'DueNotifications between two replicas on %s',
  databaseId => {
    let running: Harness[] = [];

    beforeEach(() => {
      const fake = new FakeKubernetesApi();
      server.use(...fake.handlers());
    });

    afterEach(async () => {
      await Promise.all(running.map(h => h.loop.stop()));
      running = [];
    });

    /** Replica A takes the requests and never runs its loop; replica B runs its loop, with no tick. */
    async function twoReplicas(notify: boolean) {
      const knex = await databases.init(databaseId);
      const a = await createHarness(knex, {
        replicaId: 'replica-a',
        ...withNotify(notify),
      });
      const b = await createHarness(knex, {
        replicaId: 'replica-b',
        migrate: false,
        ...withNotify(notify),
      });
      b.loop.start();
      running.push(a, b);
      return { knex, a, b };
    }

    it('wakes the other replica: a store created through A is claimed by B within a second', async () => {
      const { knex, a, b } = await twoReplicas(true);
      await until(
        'B to listen',
        async () => (await listeners(knex)).length === 1,
        5_000,
      );

      const after = await claimedByOtherReplicaAfter(a, b, 'shop', 1_000);
      expect(after).toBeLessThan(1_000);
    });

    it('without notifications B does not notice the store (it would wait for its tick)', async () => {
      const { knex, a, b } = await twoReplicas(false);
      await sleep(200);
      expect(await listeners(knex)).toEqual([]);

      expect(
        await claimedByOtherReplicaAfter(a, b, 'shop', 1_500),
      ).toBeUndefined();
    });

    it('listens again after its connection is killed, catches up on what it missed, and still wakes', async () => {
      const { knex, a, b } = await twoReplicas(true);
      await until(
        'B to listen',
        async () => (await listeners(knex)).length === 1,
        5_000,
      );
      const [killed] = await listeners(knex);

      await knex.raw('select pg_terminate_backend(?)', [killed]);
      // Made due while B cannot hear it: found by B's look after it listens again (1 s backoff).
      expect(
        await claimedByOtherReplicaAfter(a, b, 'missed', 4_000),
      ).toBeDefined();
      const [again] = await listeners(knex);
      expect(again).toBeDefined();
      expect(again).not.toBe(killed);

      expect(
        await claimedByOtherReplicaAfter(a, b, 'shop', 1_000),
      ).toBeLessThan(1_000);
      expect(b.logs.filter(m => m.startsWith('Cannot listen'))).toHaveLength(1);
      expect(b.logs).toContain(
        'Listening again for stores that other replicas make due',
      );
    });
  },
);

describe.each(databases.eachSupportedId())(
  'DueNotifications turned off or on SQLite (%s)',
  databaseId => {
    it('opens no connection and sends nothing', async () => {
      const knex = await databases.init(databaseId);
      const sqlite = knex.client.config.client !== 'pg';
      const notifications = new DueNotifications({
        knex,
        logger: { warn: jest.fn(), info: jest.fn() } as any,
        // On SQLite even when enabled: one process, nothing to tell.
        enabled: sqlite,
        replicaId: 'replica-a',
        fallbackMs: 5_000,
      });
      const opened = jest.spyOn(knex.client, 'acquireRawConnection');
      const queries: string[] = [];
      knex.on(
        'query',
        (query: { sql: string }) => void queries.push(query.sql),
      );
      const woken = jest.fn();

      notifications.listen(woken);
      await notifications.publish();
      await notifications.stop();

      expect(opened).not.toHaveBeenCalled();
      expect(queries).toEqual([]);
      expect(woken).not.toHaveBeenCalled();
    });
  },
);
