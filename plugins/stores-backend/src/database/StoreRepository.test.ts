import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { rollbackDatabase, migrateDatabase } from './migrateDatabase';
import { StoreRecord, StoreRepository } from './StoreRepository';
import { storeTestDatabases } from '../__testUtils__/databases';
import { storeRecord as testStoreRecord } from '../__testUtils__/storeRecord';

const databases = storeTestDatabases();

/** When the stores of these tests were asked for (100 s before NOW). */
const REQUESTED_AT = 1_700_000_000_000;
const storeRecord = (id: string, overrides: Partial<StoreRecord> = {}) =>
  testStoreRecord(id, overrides, REQUESTED_AT);

const NOW = 1_700_000_100_000;
const LEASE = 60_000;

describe.each(databases.eachSupportedId())(
  'StoreRepository on %s',
  databaseId => {
    async function setup() {
      const knex = await databases.init(databaseId);
      await migrateDatabase(knex);
      return { knex, repository: new StoreRepository(knex) };
    }

    it('runs on the engine it is named after', async () => {
      const { knex } = await setup();
      const postgres = databaseId.startsWith('POSTGRES');
      const version: string = postgres
        ? (await knex.raw('select version() as v')).rows[0].v
        : (await knex.raw('select sqlite_version() as v'))[0].v;
      expect(version).toMatch(postgres ? /^PostgreSQL 15\./ : /^3\./);
    });

    const REQUESTED = {
      type: 'requested',
      level: 'info',
      message: 'x',
    } as const;
    const LIMITS = { rateLimitUser: 'user:default/ann', rateWindowStart: 0 };

    async function setupWithClock() {
      const knex = await databases.init(databaseId);
      await migrateDatabase(knex);
      const clock = { shiftMs: 0 };
      const repository = new StoreRepository(knex, {
        clockShiftMs: () => clock.shiftMs,
      });
      return { knex, repository, clock };
    }

    it("reads times from the database's clock", async () => {
      const { repository } = await setup();
      const before = Date.now();
      const now = await repository.databaseNow();
      // Same machine here, so the clocks agree; in production they need not.
      expect(now).toBeGreaterThanOrEqual(before - 1000);
      expect(now).toBeLessThanOrEqual(Date.now() + 1000);
      await repository.insertStore(storeRecord('timed'), REQUESTED, LIMITS);
      const stored = await repository.getStore('timed');
      // The row's due time and step timer are the database's, not the caller's (NOW - 100 s).
      expect(stored!.nextAttemptAt).toBeGreaterThanOrEqual(now);
      expect(stored!.stepStartedAt).toBe(stored!.nextAttemptAt);
    });

    it('lets exactly one of many racing claimers take a store', async () => {
      const { repository } = await setup();
      await repository.insertStore(storeRecord('race'), REQUESTED, LIMITS);
      const [due] = await repository.findDueStores(10);
      expect(due).toEqual({ id: 'race', generation: 1 });
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          repository.claimStore(due, `replica-${i}/claim`, LEASE),
        ),
      );
      const winners = results.filter(Boolean);
      expect(winners).toHaveLength(1);
      const stored = await repository.getStore('race');
      expect(stored!.leaseHolder).toBe(winners[0]!.store.leaseHolder);
      expect(stored!.leaseExpiresAt).toBe(winners[0]!.claimedAt + LEASE);
      expect(await repository.findDueStores(10)).toEqual([]);
    });

    it('gives claimers of the next due store, racing, each a different store, oldest due first', async () => {
      const { knex, repository } = await setup();
      const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
      for (const id of ids)
        await repository.insertStore(storeRecord(id), REQUESTED, LIMITS);
      // Due one after another, a second ago and earlier, in the order of `ids`.
      const dueAt = (await repository.databaseNow()) - 1000;
      for (const [i, id] of ids.entries())
        await knex('stores')
          .where({ id })
          .update({ next_attempt_at: dueAt - 1000 * (ids.length - i) });
      await repository.claimStore(
        (
          await repository.findDueStores(1)
        )[0],
        'holder/1',
        LEASE,
      );
      const claims = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          repository.claimNextDueStore(`replica-${i}/claim`, LEASE),
        ),
      );
      const taken = claims.flatMap(claim => (claim ? [claim.store.id] : []));
      // Five stores nobody held, eight claimers: five claims, none twice, the held one skipped.
      expect([...taken].sort()).toEqual(['b', 'c', 'd', 'e', 'f']);
      for (const claim of claims.filter(Boolean))
        expect((await repository.getStore(claim!.store.id))!.leaseHolder).toBe(
          claim!.store.leaseHolder,
        );
      expect(await repository.hasDueStore()).toBe(false);
      expect(
        await repository.claimNextDueStore('late/1', LEASE),
      ).toBeUndefined();
    });

    it('claims the oldest due store next, and none that is not due yet', async () => {
      const { knex, repository } = await setup();
      for (const id of ['later', 'older', 'future'])
        await repository.insertStore(storeRecord(id), REQUESTED, LIMITS);
      const now = await repository.databaseNow();
      await knex('stores')
        .where({ id: 'later' })
        .update({ next_attempt_at: now - 1000 });
      await knex('stores')
        .where({ id: 'older' })
        .update({ next_attempt_at: now - 5000 });
      await knex('stores')
        .where({ id: 'future' })
        .update({ next_attempt_at: now + 60_000 });
      expect((await repository.claimNextDueStore('w/1', LEASE))?.store.id).toBe(
        'older',
      );
      expect((await repository.claimNextDueStore('w/2', LEASE))?.store.id).toBe(
        'later',
      );
      expect(await repository.hasDueStore()).toBe(false);
      expect(await repository.claimNextDueStore('w/3', LEASE)).toBeUndefined();
    });

    it('re-claims a store whose lease expired (a crashed replica), and fences the old holder', async () => {
      const { repository, clock } = await setupWithClock();
      await repository.insertStore(storeRecord('crash'), REQUESTED, LIMITS);
      const [due] = await repository.findDueStores(10);
      const first = await repository.claimStore(due, 'replica-a/1', LEASE);
      expect(first).toBeDefined();
      clock.shiftMs = LEASE - 1000;
      expect(await repository.claimStore(due, 'replica-b/1', LEASE)).toBe(
        undefined,
      );
      expect(
        await repository.renewLease('crash', 'replica-a/1', 1, LEASE),
      ).toBe(true);
      // Renewed from the database's clock now, so still live a lease after the renewal.
      clock.shiftMs += LEASE - 1000;
      expect(await repository.findDueStores(10)).toEqual([]);
      clock.shiftMs += 2000;
      expect(await repository.findDueStores(10)).toEqual([due]);
      const second = await repository.claimStore(due, 'replica-b/1', LEASE);
      expect(second?.store.leaseHolder).toBe('replica-b/1');
      // The old holder can neither renew nor write.
      expect(
        await repository.renewLease('crash', 'replica-a/1', 1, LEASE),
      ).toBe(false);
      expect(
        await repository.updateClaimedStore('crash', 'replica-a/1', 1, {
          step: 'secret',
        }),
      ).toBe(false);
      expect(
        await repository.updateClaimedStore('crash', 'replica-b/1', 1, {
          step: 'secret',
        }),
      ).toBe(true);
    });

    it("ignores the claimer's own clock: a replica running 5 minutes ahead cannot take a live lease", async () => {
      const { repository } = await setup();
      await repository.insertStore(storeRecord('skew'), REQUESTED, LIMITS);
      const [due] = await repository.findDueStores(10);
      expect(
        await repository.claimStore(due, 'replica-a/1', LEASE),
      ).toBeDefined();
      const realNow = Date.now;
      Date.now = () => realNow() + 5 * 60_000;
      try {
        expect(await repository.findDueStores(10)).toEqual([]);
        expect(
          await repository.claimStore(due, 'replica-ahead/1', LEASE),
        ).toBeUndefined();
      } finally {
        Date.now = realNow;
      }
    });

    it('re-checks in the claim that the store is still due: status, next attempt, generation', async () => {
      const { repository, clock } = await setupWithClock();
      for (const id of ['failed', 'backing-off', 'changed']) {
        await repository.insertStore(storeRecord(id), REQUESTED, LIMITS);
      }
      const due = await repository.findDueStores(10);
      expect(due.map(d => d.id).sort()).toEqual([
        'backing-off',
        'changed',
        'failed',
      ]);
      const seen = (id: string) => due.find(d => d.id === id)!;
      // Between the due query and the claims, another replica worked on two of them and a
      // user deleted the third.
      const other = await repository.claimStore(
        seen('failed'),
        'other/1',
        LEASE,
      );
      await repository.updateClaimedStore('failed', 'other/1', 1, {
        status: 'Failed',
        lastError: 'boom',
      });
      await repository.releaseStore('failed', 'other/1');
      await repository.claimStore(seen('backing-off'), 'other/2', LEASE);
      await repository.updateClaimedStore('backing-off', 'other/2', 1, {
        attempts: 1,
        nextAttemptInMs: 60_000,
      });
      await repository.releaseStore('backing-off', 'other/2');
      await repository.requestDeletion('changed', NOW);
      expect(other).toBeDefined();

      for (const d of due) {
        expect(await repository.claimStore(d, 'late/1', LEASE)).toBeUndefined();
      }
      // The changed store is due under its new generation; the one backing off after its delay.
      expect(await repository.findDueStores(10)).toEqual([
        { id: 'changed', generation: 2 },
      ]);
      clock.shiftMs = 61_000;
      expect(
        (await repository.findDueStores(10)).map(d => d.id).sort(),
      ).toEqual(['backing-off', 'changed']);
    });

    it('fences out a worker when a user changed the store meanwhile', async () => {
      const { repository } = await setup();
      await repository.insertStore(storeRecord('fence'), REQUESTED, LIMITS);
      const [due] = await repository.findDueStores(10);
      const claimed = await repository.claimStore(due, 'worker/1', LEASE);
      await repository.requestDeletion('fence', NOW);
      expect(
        await repository.updateClaimedStore(
          'fence',
          'worker/1',
          claimed!.store.generation,
          { status: 'Ready' },
        ),
      ).toBe(false);
      expect(
        await repository.renewLease(
          'fence',
          'worker/1',
          claimed!.store.generation,
          LEASE,
        ),
      ).toBe(false);
      const store = await repository.getStore('fence');
      expect(store).toMatchObject({
        status: 'Deleting',
        desiredState: 'absent',
        step: 'helmUninstall',
        generation: 2,
      });
    });

    it('releases a lease and says when, on the database clock', async () => {
      const { repository } = await setup();
      await repository.insertStore(storeRecord('rel'), REQUESTED, LIMITS);
      const [due] = await repository.findDueStores(10);
      const claimed = await repository.claimStore(due, 'w/1', LEASE);
      const releasedAt = await repository.releaseStore('rel', 'w/1');
      expect(releasedAt).toBeGreaterThanOrEqual(claimed!.claimedAt);
      expect(await repository.getStore('rel')).toMatchObject({
        leaseHolder: null,
        leaseExpiresAt: null,
      });
      expect(await repository.findDueStores(10)).toEqual([due]);
      // A lease no longer held: nothing to release, still the database's clock.
      expect(
        await repository.releaseStore('rel', 'w/1'),
      ).toBeGreaterThanOrEqual(releasedAt);
    });

    it('marks a waiting store due now when a watch saw a change, idempotently and never a Failed one', async () => {
      const { repository } = await setup();
      await repository.insertStore(storeRecord('waits'), REQUESTED, LIMITS);
      await repository.insertStore(storeRecord('failed'), REQUESTED, LIMITS);
      for (const id of ['waits', 'failed']) {
        const [due] = (await repository.findDueStores(10)).filter(
          d => d.id === id,
        );
        await repository.claimStore(due, `w/${id}`, LEASE);
        await repository.updateClaimedStore(id, `w/${id}`, 1, {
          nextAttemptInMs: 60_000,
          ...(id === 'failed' ? { status: 'Failed' as const } : {}),
        });
      }
      // At another step than the change is for: nothing to look at.
      expect(await repository.markStoreDue('waits', ['workloads', null])).toBe(
        false,
      );
      // Held: the claim's lease is kept, so no other worker can take the store meanwhile.
      expect(await repository.markStoreDue('waits', ['guardrails'])).toBe(true);
      expect(await repository.findDueStores(10)).toEqual([]);
      await repository.releaseStore('waits', 'w/waits');
      await repository.releaseStore('failed', 'w/failed');
      expect(await repository.findDueStores(10)).toEqual([
        { id: 'waits', generation: 1 },
      ]);
      // Already due: a second replica's mark changes nothing.
      expect(await repository.markStoreDue('waits', ['guardrails'])).toBe(
        false,
      );
      expect(await repository.markStoreDue('failed', ['guardrails'])).toBe(
        false,
      );
      expect(
        await repository.markStoreDue('no-such-store', ['guardrails']),
      ).toBe(false);
      const { nextDueAt, now } = await repository.nextDueTime();
      expect(nextDueAt).toBeLessThanOrEqual(now);
    });

    it('moves a store whose namespace vanished, unless someone holds or changed it', async () => {
      const { repository } = await setup();
      await repository.insertStore(
        storeRecord('vanished', { status: 'Ready', step: null }),
        REQUESTED,
        LIMITS,
      );
      const [record] = await repository.listStoreNamespaces();
      expect(record).toEqual({
        id: 'vanished',
        namespace: 'store-vanished',
        status: 'Ready',
        step: null,
        generation: 1,
      });
      const outcome = { status: 'Failed', lastError: 'gone' } as const;
      expect(
        await repository.resetVanishedStore(
          { ...record, generation: 7 },
          outcome,
        ),
      ).toBe(false);
      expect(await repository.resetVanishedStore(record, outcome)).toBe(true);
      expect(await repository.getStore('vanished')).toMatchObject({
        status: 'Failed',
        step: 'guardrails',
        generation: 2,
        lastError: 'gone',
      });
    });

    it('lists with filters, access conditions and paging', async () => {
      const { repository } = await setup();
      for (let i = 0; i < 5; i++) {
        await repository.insertStore(
          storeRecord(`s${i}`, {
            owner: i % 2 ? 'group:default/team-b' : 'group:default/team-a',
            createdAt: NOW + i,
          }),
          { type: 'requested', level: 'info', message: 'x' },
          { rateLimitUser: 'user:default/ann', rateWindowStart: 0 },
        );
      }
      const page = await repository.listStores({
        owner: 'group:default/team-a',
        offset: 1,
        limit: 1,
      });
      expect(page.totalCount).toBe(3);
      expect(page.items.map(s => s.id)).toEqual(['s2']);
      const visible = await repository.listStores({
        access: { anyOf: [{ ownedBy: ['group:default/team-b'] }] },
        offset: 0,
        limit: 10,
      });
      expect(visible.items.map(s => s.id).sort()).toEqual(['s1', 's3']);
      const none = await repository.listStores({
        access: { not: { ownedBy: ['user:default/ann'] } },
        offset: 0,
        limit: 10,
      });
      expect(none.totalCount).toBe(0);
    });

    it('lists what changed since a time: stores changed since, and removals in order', async () => {
      const { knex, repository } = await setup();
      for (let i = 0; i < 4; i++) {
        await repository.insertStore(
          storeRecord(`s${i}`, {
            owner: i % 2 ? 'group:default/team-b' : 'group:default/team-a',
            createdAt: NOW + i,
            updatedAt: NOW + 10 * i,
          }),
          REQUESTED,
          LIMITS,
        );
      }
      const changed = await repository.listChangedStores({
        since: NOW + 10,
        limit: 2,
      });
      expect(changed.items.map(s => s.id)).toEqual(['s1', 's2']);
      expect(changed.next).toEqual({ updatedAt: NOW + 20, id: 's2' });
      const laterChanges = await repository.listChangedStores({
        since: NOW + 10,
        after: changed.next,
        limit: 2,
      });
      expect(laterChanges.items.map(s => s.id)).toEqual(['s3']);
      expect(laterChanges.next).toBeUndefined();
      const ownChanged = await repository.listChangedStores({
        since: NOW + 10,
        access: { ownedBy: ['group:default/team-a'] },
        limit: 10,
      });
      expect(ownChanged.items.map(s => s.id)).toEqual(['s2']);

      await knex('deleted_stores').insert(
        ['d3', 'd1', 'd2', 'd0'].map((id, i) => ({
          id,
          owner: i % 2 ? 'group:default/team-b' : 'group:default/team-a',
          created_by: 'user:default/ann',
          // d2 and d0 were removed at the same moment: the id orders them.
          deleted_at: NOW + Math.min(i, 2) * 1000,
        })),
      );
      const first = await repository.listDeletedStores({
        since: NOW + 1000,
        limit: 2,
      });
      expect(first.items).toEqual([
        { id: 'd1', deletedAt: NOW + 1000 },
        { id: 'd0', deletedAt: NOW + 2000 },
      ]);
      const rest = await repository.listDeletedStores({
        since: NOW + 1000,
        after: first.next,
        limit: 2,
      });
      expect(rest).toEqual({
        items: [{ id: 'd2', deletedAt: NOW + 2000 }],
        next: undefined,
      });
      const teamA = await repository.listDeletedStores({
        since: 0,
        access: { ownedBy: ['group:default/team-a'] },
        limit: 10,
      });
      expect(teamA.items.map(d => d.id)).toEqual(['d3', 'd2']);
    });

    it('keeps events of deleted stores until the audit period ends', async () => {
      const { repository } = await setup();
      await repository.insertStore(
        storeRecord('gone'),
        { type: 'requested', level: 'info', message: 'x' },
        { rateLimitUser: 'user:default/ann', rateWindowStart: 0 },
      );
      const [due] = await repository.findDueStores(10);
      const claimed = await repository.claimStore(due, 'w/1', LEASE);
      await repository.addEvent(
        'gone',
        { type: 'namespace.deleted', level: 'info', message: 'gone' },
        NOW,
      );
      expect(
        await repository.deleteClaimedStore(
          'gone',
          'w/1',
          claimed!.store.generation,
        ),
      ).toBe(true);
      expect(await repository.getStore('gone')).toBeUndefined();
      expect(await repository.listEvents('gone', 10)).toHaveLength(2);
      // Whose store it was survives the row, for permission checks on its events.
      expect(await repository.getStoreOwnership('gone')).toEqual({
        id: 'gone',
        owner: 'group:default/team-a',
        createdBy: 'user:default/ann',
      });
      // 'requested' was written at creation, before NOW; 'namespace.deleted' at NOW.
      expect(await repository.purgeEventsOfDeletedStores(NOW - LEASE)).toBe(1);
      expect(await repository.listEvents('gone', 10)).toHaveLength(1);
      expect(await repository.getStoreOwnership('gone')).toBeDefined();
      // The deletion was recorded on the database's clock (now), after NOW.
      expect(
        await repository.purgeEventsOfDeletedStores(Date.now() + 1000),
      ).toBe(1);
      expect(await repository.getStoreOwnership('gone')).toBeUndefined();
    });

    it('does not delete a store whose lease or generation moved on, and records nothing then', async () => {
      const { repository } = await setup();
      await repository.insertStore(
        storeRecord('kept'),
        { type: 'requested', level: 'info', message: 'x' },
        { rateLimitUser: 'user:default/ann', rateWindowStart: 0 },
      );
      const [due] = await repository.findDueStores(10);
      const claimed = await repository.claimStore(due, 'w/1', LEASE);
      expect(
        await repository.deleteClaimedStore(
          'kept',
          'other/1',
          claimed!.store.generation,
        ),
      ).toBe(false);
      expect(
        await repository.deleteClaimedStore(
          'kept',
          'w/1',
          claimed!.store.generation + 1,
        ),
      ).toBe(false);
      expect(await repository.getStore('kept')).toBeDefined();
      expect(await repository.getStoreOwnership('kept')).toMatchObject({
        owner: 'group:default/team-a',
      });
      await repository.purgeEventsOfDeletedStores(NOW + 10 * LEASE);
      // A live store's ownership comes from its row, never from a stale record.
      expect(await repository.getStoreOwnership('kept')).toBeDefined();
    });

    it('refuses a burst of creates beyond a limit, however they interleave', async () => {
      const { repository } = await setup();
      const attempts = Array.from({ length: 6 }, (_, i) =>
        repository.insertStore(
          storeRecord(`burst-${i}`),
          { type: 'requested', level: 'info', message: 'x' },
          {
            rateLimitUser: 'user:default/ann',
            rateWindowStart: 0,
            checkUsage: usage => {
              if (usage.activeByUser >= 2) throw new Error('limit reached');
            },
          },
        ),
      );
      const results = await Promise.allSettled(attempts);
      expect(results.filter(r => r.status === 'fulfilled')).toHaveLength(2);
      expect(
        await repository.countActiveStores({ createdBy: 'user:default/ann' }),
      ).toBe(2);
      const { totalCount } = await repository.listStores({
        offset: 0,
        limit: 10,
      });
      expect(totalCount).toBe(2);
    });

    it('counts stores from before the reached-cluster column as having reached a cluster', async () => {
      const knex = await databases.init(databaseId);
      const directory = resolvePackagePath(
        '@storeplane/plugin-stores-backend',
        'migrations',
      );
      await knex.migrate.up({ directory, name: '20261127000000_init.js' });
      // Columns added by later migrations are left out of the row of the first schema.
      const {
        reachedClusterAt,
        displayName,
        chartVersion,
        helmRevision,
        appliedPlan,
        observedGeneration,
        domain,
        appliedDomain,
        domainStatus,
        domainCheckedAt,
        domainMessage,
        ...before
      } = storeRecord('old', { createdAt: NOW - 5_000 });
      expect(reachedClusterAt).toBeNull();
      expect([
        displayName,
        chartVersion,
        helmRevision,
        appliedPlan,
        observedGeneration,
        domain,
        appliedDomain,
        domainStatus,
        domainCheckedAt,
        domainMessage,
      ]).toEqual(Array(10).fill(null));
      await knex('stores').insert({
        ...Object.fromEntries(
          Object.entries(before).map(([key, value]) => [
            key.replace(/[A-Z]/g, c => `_${c.toLowerCase()}`),
            value,
          ]),
        ),
      });
      await migrateDatabase(knex);
      const repository = new StoreRepository(knex);
      expect((await repository.getStore('old'))!.reachedClusterAt).toBe(
        NOW - 5_000,
      );
      await repository.insertStore(
        storeRecord('new'),
        { type: 'requested', level: 'info', message: 'new' },
        { rateLimitUser: 'user:default/ann', rateWindowStart: 0 },
      );
      expect((await repository.getStore('new'))!.reachedClusterAt).toBeNull();
    });

    it('migrates down and up again', async () => {
      const { knex } = await setup();
      await rollbackDatabase(knex);
      expect(await knex.schema.hasTable('stores')).toBe(false);
      expect(await knex.schema.hasTable('store_events')).toBe(false);
      await migrateDatabase(knex);
      expect(await knex.schema.hasTable('stores')).toBe(true);
    });
  },
);
