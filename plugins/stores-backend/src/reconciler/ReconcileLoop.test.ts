import { mockServices } from '@backstage/backend-test-utils';
import { setTimeout as sleep } from 'node:timers/promises';
import { storeTestDatabases } from '../__testUtils__/databases';
import { storeRecord } from '../__testUtils__/storeRecord';
import { migrateDatabase } from '../database/migrateDatabase';
import { StoreRepository } from '../database/StoreRepository';
import { ReconcileLoop } from './ReconcileLoop';
import { StoreLease } from './StoreLease';

const databases = storeTestDatabases();

const LEASE_MS = 60_000;

/** What a stub reconciler does with one claim of a store. */
type Behaviour = (
  lease: StoreLease,
  claim: number,
) => {
  workMs?: number;
  nextAttemptInMs?: number;
  fail?: boolean;
  /** Asks the loop, after the work, whether other stores wait for a worker. */
  askOthersWaiting?: boolean;
};

interface Claim {
  id: string;
  claimedAt: number;
  doneAt?: number;
  othersWaiting?: boolean;
}

/**
 * Reconciles with a stand-in for StoreReconciler that takes `workMs` and then schedules the
 * store's next look (or does not, or throws), on a real database, so that only the loop is
 * under test.
 */
async function setup(
  databaseId: Parameters<typeof databases.init>[0],
  options: { concurrency: number; unfinishedRetryMs?: number },
  behaviour: Behaviour,
) {
  const knex = await databases.init(databaseId);
  await migrateDatabase(knex);
  const repository = new StoreRepository(knex);
  const claims: Claim[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const loop = new ReconcileLoop({
    repository,
    logger: mockServices.logger.mock(),
    concurrency: options.concurrency,
    leaseMs: LEASE_MS,
    eventRetentionMs: 0,
    createRateWindowMs: 0,
    unfinishedRetryMs: options.unfinishedRetryMs ?? 5_000,
    reconciler: {
      async reconcile(lease, othersWaiting) {
        const claim: Claim = { id: lease.store.id, claimedAt: Date.now() };
        const previous = claims.filter(c => c.id === claim.id).length;
        claims.push(claim);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          const outcome = behaviour(lease, previous + 1);
          if (outcome.workMs) await sleep(outcome.workMs);
          if (outcome.fail) throw new Error('the reconciler broke');
          if (outcome.askOthersWaiting)
            claim.othersWaiting = await othersWaiting?.();
          if (outcome.nextAttemptInMs !== undefined)
            await repository.updateClaimedStore(
              lease.store.id,
              lease.token,
              lease.store.generation,
              { nextAttemptInMs: outcome.nextAttemptInMs },
            );
        } finally {
          inFlight--;
          claim.doneAt = Date.now();
        }
      },
    },
  });
  /** Inserts stores due now, each due a millisecond after the one before. */
  const addStores = async (...ids: string[]) => {
    const now = await repository.databaseNow();
    for (const [index, id] of ids.entries()) {
      await repository.insertStore(
        storeRecord(id),
        { type: 'requested', level: 'info', message: 'requested' },
        { rateLimitUser: 'user:default/ann', rateWindowStart: 0 },
      );
      await knex('stores')
        .where({ id })
        .update({ next_attempt_at: now - ids.length + index });
    }
  };
  return {
    knex,
    repository,
    loop,
    claims,
    addStores,
    maxInFlight: () => maxInFlight,
    claimsOf: (id: string) => claims.filter(c => c.id === id),
  };
}

async function until(what: string, done: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

const DONE = { nextAttemptInMs: 3_600_000 };

describe.each(databases.eachSupportedId())(
  'the reconcile work queue on %s',
  databaseId => {
    let stopLoop: (() => Promise<void>) | undefined;
    afterEach(async () => {
      await stopLoop?.();
      stopLoop = undefined;
    });

    it('drains a burst continuously at its concurrency, oldest due first', async () => {
      const slow = 'slow';
      const fast = Array.from({ length: 15 }, (_, i) => `fast-${i}`);
      const t = await setup(databaseId, { concurrency: 3 }, lease => ({
        workMs: lease.store.id === slow ? 1_500 : 20,
        ...DONE,
      }));
      stopLoop = () => t.loop.stop();
      await t.addStores(slow, ...fast);
      t.loop.start();

      await until('every store claimed once', () => t.claims.length === 16);
      // More stores than one pass of the old loop took (concurrency × 4), all while the slow
      // one still held a worker: a free worker claims the next store without waiting.
      const slowClaim = t.claimsOf(slow)[0];
      for (const id of fast) expect(t.claimsOf(id)).toHaveLength(1);
      await until('the fast stores done', () =>
        fast.every(id => t.claimsOf(id)[0].doneAt !== undefined),
      );
      const lastFastDone = Math.max(
        ...fast.map(id => t.claimsOf(id)[0].doneAt!),
      );
      expect(slowClaim.doneAt ?? Infinity).toBeGreaterThan(lastFastDone);
      expect(t.maxInFlight()).toBe(3);
      // Oldest due first: workers claim side by side, so a store may start up to
      // concurrency − 1 places away from its place in due order, never further.
      const order = t.claims.map(c => c.id);
      expect(order[0]).toBe(slow);
      fast.forEach((id, index) =>
        expect(Math.abs(order.indexOf(id) - (index + 1))).toBeLessThan(3),
      );
    });

    it('tells a claim that others wait only when every worker is busy and a store is due', async () => {
      const busy = await setup(databaseId, { concurrency: 1 }, () => ({
        askOthersWaiting: true,
        ...DONE,
      }));
      stopLoop = () => busy.loop.stop();
      await busy.addStores('first', 'second', 'third');
      busy.loop.start();
      await until(
        'every store done',
        () =>
          busy.claims.every(c => c.doneAt !== undefined) &&
          busy.claims.length === 3,
      );
      // The one worker is busy: the first two claims see stores due behind them, the last
      // sees none.
      expect(busy.claims.map(c => [c.id, c.othersWaiting])).toEqual([
        ['first', true],
        ['second', true],
        ['third', false],
      ]);
      await busy.loop.stop();

      const idle = await setup(databaseId, { concurrency: 3 }, () => ({
        askOthersWaiting: true,
        ...DONE,
      }));
      stopLoop = () => idle.loop.stop();
      await idle.addStores('alone');
      idle.loop.start();
      await until('the store done', () => idle.claims[0]?.doneAt !== undefined);
      // Workers are free: one of them would take a due store, so nothing waits.
      expect(idle.claims[0].othersWaiting).toBe(false);
    });

    it('wakes up for a store at its own due time, without a tick', async () => {
      const requeueMs = 700;
      const t = await setup(databaseId, { concurrency: 2 }, (_lease, claim) =>
        claim === 1 ? { nextAttemptInMs: requeueMs } : DONE,
      );
      stopLoop = () => t.loop.stop();
      await t.addStores('waiting');
      t.loop.start();

      await until('the second look', () => t.claims.length === 2, 5_000);
      const [first, second] = t.claims;
      const lateMs = second.claimedAt - (first.doneAt! + requeueMs);
      // Not before its time (the write lands just before doneAt), and not a tick later.
      expect(lateMs).toBeGreaterThanOrEqual(-50);
      expect(lateMs).toBeLessThan(300);
    });

    it('claims a store at once when woken, and a store that advanced right away again', async () => {
      const t = await setup(databaseId, { concurrency: 2 }, (lease, claim) =>
        // "advanced" ran out of its claim's budget and asks for the next look now.
        lease.store.id === 'advanced' && claim === 1
          ? { nextAttemptInMs: 0 }
          : DONE,
      );
      stopLoop = () => t.loop.stop();
      t.loop.start();
      await sleep(100);
      expect(t.claims).toEqual([]);

      const wokenAt = Date.now();
      await t.addStores('created', 'advanced');
      t.loop.wake();
      await until('three claims', () => t.claims.length === 3, 2_000);
      expect(t.claimsOf('created')).toHaveLength(1);
      expect(t.claimsOf('advanced')).toHaveLength(2);
      expect(t.claims[2].claimedAt - wokenAt).toBeLessThan(500);
    });

    it('spends about one claim query on a wake-up for one store, not one per idle worker', async () => {
      const t = await setup(databaseId, { concurrency: 8 }, () => DONE);
      stopLoop = () => t.loop.stop();
      const claimQueries = jest.spyOn(t.repository, 'claimNextDueStore');
      t.loop.start();
      await until(
        'the idle loop done looking',
        () => claimQueries.mock.calls.length > 0,
      );
      await sleep(100);
      claimQueries.mockClear();

      await t.addStores('created');
      t.loop.wake();
      await until('the claim done', () => t.claims[0]?.doneAt !== undefined);
      await sleep(100);
      expect(t.claims).toHaveLength(1);
      // The claim that found it, one by the worker it started, which found nothing, and its
      // own look for more once done: not one by each of the eight idle workers.
      expect(claimQueries.mock.calls.length).toBeLessThanOrEqual(3);
    });

    it('looks at a store at once when a watch saw it change, even mid-claim, and not at another step', async () => {
      const t = await setup(databaseId, { concurrency: 2 }, (_lease, claim) =>
        // The first claim looks, then (while it still holds the store) the Job completes;
        // its claim ends by scheduling a look an hour later, as a waiting step does.
        claim === 1 ? { workMs: 200, ...DONE } : DONE,
      );
      stopLoop = () => t.loop.stop();
      await t.addStores('waiting');
      t.loop.start();
      await until('the first claim', () => t.claims.length === 1);
      await t.loop.storeChanged('waiting', ['guardrails']);
      await until(
        'a look after the change',
        () => t.claims.length === 2,
        2_000,
      );
      expect(t.claims[1].claimedAt - t.claims[0].doneAt!).toBeLessThan(500);

      // Released and an hour off: a change this step does not wait for costs no claim.
      await until('the second claim done', () => !!t.claims[1].doneAt);
      await t.loop.storeChanged('waiting', ['workloads', null]);
      await sleep(300);
      expect(t.claims).toHaveLength(2);
      const changedAt = Date.now();
      await t.loop.storeChanged('waiting', ['guardrails']);
      await until('a look after the next change', () => t.claims.length === 3);
      expect(t.claims[2].claimedAt - changedAt).toBeLessThan(500);
    });

    it('puts off a store whose reconcile broke instead of claiming it back to back', async () => {
      const retryMs = 600;
      const t = await setup(
        databaseId,
        { concurrency: 2, unfinishedRetryMs: retryMs },
        (_lease, claim) => (claim === 1 ? { fail: true } : DONE),
      );
      stopLoop = () => t.loop.stop();
      await t.addStores('broken');
      t.loop.start();

      await until('the second look', () => t.claims.length === 2, 5_000);
      const [first, second] = t.claims;
      expect(second.claimedAt - first.doneAt!).toBeGreaterThanOrEqual(
        retryMs - 50,
      );
      await sleep(200);
      expect(t.claims).toHaveLength(2);
    });

    it('stops: the claim in flight is released and nothing more is claimed', async () => {
      const t = await setup(databaseId, { concurrency: 1 }, () => ({
        workMs: 300,
        nextAttemptInMs: 100,
      }));
      await t.addStores('busy');
      t.loop.start();
      await until('the first claim', () => t.claims.length === 1, 2_000);

      await t.loop.stop();
      expect(t.claims[0].doneAt).toBeDefined();
      expect(await t.repository.getStore('busy')).toMatchObject({
        leaseHolder: null,
      });
      await t.addStores('late');
      t.loop.wake();
      await sleep(400);
      expect(t.claims.map(c => c.id)).toEqual(['busy']);
    });

    it('puts off only a store nothing rescheduled during its claim, never one a user changed', async () => {
      const t = await setup(databaseId, { concurrency: 1 }, () => DONE);
      await t.addStores('untouched', 'deleted-meanwhile');
      const release = async (id: string, during?: () => Promise<unknown>) => {
        const [due] = (await t.repository.findDueStores(10)).filter(
          d => d.id === id,
        );
        const claimed = await t.repository.claimStore(due, 'w/1', LEASE_MS);
        await during?.();
        await t.repository.releaseStore(id, 'w/1', {
          generation: claimed!.store.generation,
          nextAttemptAt: claimed!.store.nextAttemptAt,
          retryInMs: 60_000,
        });
        return (await t.repository.getStore(id))!;
      };

      const now = await t.repository.databaseNow();
      const untouched = await release('untouched');
      expect(untouched.nextAttemptAt).toBeGreaterThanOrEqual(now + 60_000);
      const deleted = await release('deleted-meanwhile', () =>
        t.repository.requestDeletion('deleted-meanwhile', Date.now()),
      );
      expect(deleted).toMatchObject({ status: 'Deleting', leaseHolder: null });
      expect(deleted.nextAttemptAt).toBeLessThan(now + 60_000);
      expect((await t.repository.findDueStores(10)).map(d => d.id)).toEqual([
        'deleted-meanwhile',
      ]);
    });

    it('reports the next due time of stores nobody holds, on the database clock', async () => {
      const t = await setup(databaseId, { concurrency: 1 }, () => DONE);
      expect((await t.repository.nextDueTime()).nextDueAt).toBeUndefined();

      await t.addStores('held', 'later', 'failed');
      const future = (await t.repository.databaseNow()) + 30_000;
      await t.knex('stores').where({ id: 'later' }).update({
        next_attempt_at: future,
      });
      await t.knex('stores').where({ id: 'failed' }).update({
        status: 'Failed',
        next_attempt_at: 0,
      });
      await t.repository.claimStore(
        { id: 'held', generation: 1 },
        'other-replica/1',
        LEASE_MS,
      );
      const { nextDueAt, now } = await t.repository.nextDueTime();
      expect(nextDueAt).toBe(future);
      expect(Math.abs(now - Date.now())).toBeLessThan(1_000);
    });
  },
);
