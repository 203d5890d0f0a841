import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { rollbackDatabase, migrateDatabase } from './migrateDatabase';
import { StoreRecord, StoreRepository } from './StoreRepository';
import { storeTestDatabases } from '../__testUtils__/databases';

const databases = storeTestDatabases();

function storeRecord(
  id: string,
  overrides: Partial<StoreRecord> = {},
): StoreRecord {
  const now = 1_700_000_000_000;
  return {
    id,
    name: id,
    description: null,
    owner: 'group:default/team-a',
    createdBy: 'user:default/ann',
    engine: 'woocommerce',
    plan: 'small',
    desiredState: 'present',
    status: 'Provisioning',
    step: 'guardrails',
    namespace: `store-${id}`,
    storefrontUrl: null,
    adminUrl: null,
    generation: 1,
    attempts: 0,
    nextAttemptAt: now,
    stepStartedAt: now,
    lastError: null,
    leaseHolder: null,
    leaseExpiresAt: null,
    createdAt: now,
    updatedAt: now,
    readyAt: null,
    reachedClusterAt: null,
    ...overrides,
  };
}

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

    it('lets exactly one of two racing claimers take a store', async () => {
      const { repository } = await setup();
      await repository.insertStore(
        storeRecord('race'),
        { type: 'requested', level: 'info', message: 'x' },
        { rateLimitUser: 'user:default/ann', rateWindowStart: 0 },
      );
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          repository.claimStore('race', `replica-${i}`, NOW, LEASE),
        ),
      );
      const winners = results.filter(Boolean);
      expect(winners).toHaveLength(1);
      const stored = await repository.getStore('race');
      expect(stored!.leaseHolder).toBe(winners[0]!.leaseHolder);
      expect(await repository.findDueStoreIds(NOW, 10)).toEqual([]);
    });

    it('re-claims a store whose lease expired (a crashed replica)', async () => {
      const { repository } = await setup();
      await repository.insertStore(
        storeRecord('crash'),
        { type: 'requested', level: 'info', message: 'x' },
        { rateLimitUser: 'user:default/ann', rateWindowStart: 0 },
      );
      expect(
        await repository.claimStore('crash', 'replica-a', NOW, LEASE),
      ).toBeDefined();
      expect(
        await repository.claimStore(
          'crash',
          'replica-b',
          NOW + LEASE - 1,
          LEASE,
        ),
      ).toBeUndefined();
      expect(await repository.findDueStoreIds(NOW + LEASE + 1, 10)).toEqual([
        'crash',
      ]);
      const reclaimed = await repository.claimStore(
        'crash',
        'replica-b',
        NOW + LEASE + 1,
        LEASE,
      );
      expect(reclaimed?.leaseHolder).toBe('replica-b');
      // The old holder can no longer write.
      expect(
        await repository.updateClaimedStore(
          'crash',
          'replica-a',
          1,
          { step: 'secret' },
          NOW,
        ),
      ).toBe(false);
      expect(
        await repository.updateClaimedStore(
          'crash',
          'replica-b',
          1,
          { step: 'secret' },
          NOW,
        ),
      ).toBe(true);
    });

    it('fences out a worker when a user changed the store meanwhile', async () => {
      const { repository } = await setup();
      await repository.insertStore(
        storeRecord('fence'),
        { type: 'requested', level: 'info', message: 'x' },
        { rateLimitUser: 'user:default/ann', rateWindowStart: 0 },
      );
      const claimed = await repository.claimStore(
        'fence',
        'worker',
        NOW,
        LEASE,
      );
      await repository.requestDeletion('fence', NOW);
      expect(
        await repository.updateClaimedStore(
          'fence',
          'worker',
          claimed!.generation,
          { status: 'Ready' },
          NOW,
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

    it('keeps events of deleted stores until the audit period ends', async () => {
      const { repository } = await setup();
      await repository.insertStore(
        storeRecord('gone'),
        { type: 'requested', level: 'info', message: 'x' },
        { rateLimitUser: 'user:default/ann', rateWindowStart: 0 },
      );
      const claimed = await repository.claimStore('gone', 'w', NOW, LEASE);
      await repository.addEvent(
        'gone',
        { type: 'namespace.deleted', level: 'info', message: 'gone' },
        NOW,
      );
      expect(
        await repository.deleteClaimedStore(
          'gone',
          'w',
          claimed!.generation,
          NOW,
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
      expect(await repository.purgeEventsOfDeletedStores(NOW + 1)).toBe(1);
      expect(await repository.getStoreOwnership('gone')).toBeUndefined();
    });

    it('does not delete a store whose lease or generation moved on, and records nothing then', async () => {
      const { repository } = await setup();
      await repository.insertStore(
        storeRecord('kept'),
        { type: 'requested', level: 'info', message: 'x' },
        { rateLimitUser: 'user:default/ann', rateWindowStart: 0 },
      );
      const claimed = await repository.claimStore('kept', 'w', NOW, LEASE);
      expect(
        await repository.deleteClaimedStore(
          'kept',
          'other',
          claimed!.generation,
        ),
      ).toBe(false);
      expect(
        await repository.deleteClaimedStore(
          'kept',
          'w',
          claimed!.generation + 1,
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
      const { reachedClusterAt, ...before } = storeRecord('old', {
        createdAt: NOW - 5_000,
      });
      expect(reachedClusterAt).toBeNull();
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
