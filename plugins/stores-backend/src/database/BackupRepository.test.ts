import { BackupRepository } from './BackupRepository';
import { migrateDatabase, rollbackDatabase } from './migrateDatabase';
import { StoreRepository } from './StoreRepository';
import { storeTestDatabases } from '../__testUtils__/databases';
import { storeRecord } from '../__testUtils__/storeRecord';

const databases = storeTestDatabases();

const REQUESTED = { type: 'requested', level: 'info', message: 'x' } as const;
const LIMITS = { rateLimitUser: 'user:default/ann', rateWindowStart: 0 };
const LEASE = 60_000;

describe.each(databases.eachSupportedId())(
  'BackupRepository on %s',
  databaseId => {
    async function setup() {
      const knex = await databases.init(databaseId);
      await migrateDatabase(knex);
      const clock = { shiftMs: 0 };
      const stores = new StoreRepository(knex, {
        clockShiftMs: () => clock.shiftMs,
      });
      const backups = new BackupRepository(knex, () => clock.shiftMs);
      return { knex, stores, backups, clock };
    }

    /** A Ready store held under lease by `token`. */
    async function readyStore(
      stores: StoreRepository,
      id: string,
      token = `replica-a/${id}`,
    ) {
      await stores.insertStore(storeRecord(id), REQUESTED, LIMITS);
      const due = (await stores.findDueStores(10)).find(d => d.id === id)!;
      await stores.claimStore(due, token, LEASE);
      await stores.updateClaimedStore(id, token, due.generation, {
        status: 'Ready',
        nextAttemptInMs: 3_600_000,
      });
      return { storeId: id, token };
    }

    const request = (storeId: string, id: string) => ({
      id,
      storeId,
      requestedBy: 'user:default/ann',
      file: `/backups/${id}.sql.gz`,
    });

    it('records a backup of a Ready store only, one unfinished at a time, and makes the store due', async () => {
      const { stores, backups, clock } = await setup();
      expect(await backups.requestBackup(request('ghost', 'b0'))).toBe(
        'storeNotFound',
      );
      await stores.insertStore(storeRecord('new'), REQUESTED, LIMITS);
      expect(await backups.requestBackup(request('new', 'b0'))).toBe(
        'storeNotReady',
      );
      const hold = await readyStore(stores, 'shop');
      await stores.releaseStore('shop', hold.token);
      expect((await stores.findDueStores(10)).map(d => d.id)).toEqual(['new']);
      clock.shiftMs = 1000;
      const first = await backups.requestBackup(request('shop', 'b1'));
      expect(first).toMatchObject({
        id: 'b1',
        storeId: 'shop',
        status: 'Pending',
        requestedBy: 'user:default/ann',
        file: '/backups/b1.sql.gz',
        sizeBytes: null,
        startedAt: null,
        finishedAt: null,
      });
      expect((await stores.findDueStores(10)).map(d => d.id).sort()).toEqual([
        'new',
        'shop',
      ]);
      expect(await backups.requestBackup(request('shop', 'b2'))).toBe(
        'backupInProgress',
      );
      expect(await backups.getBackup('shop', 'b2')).toBeUndefined();
      // The accepted request is an event naming who asked; refused ones leave none.
      const requested = (await stores.listEvents('shop', 10)).filter(
        e => e.type === 'backup.requested',
      );
      expect(requested).toEqual([
        expect.objectContaining({
          level: 'info',
          message: 'Backup b1 requested',
          actor: 'user:default/ann',
        }),
      ]);
      expect(
        (await stores.listEvents('new', 10)).map(e => e.type),
      ).not.toContain('backup.requested');
      expect(await backups.getBackup('new', 'b1')).toBeUndefined();
      expect(await backups.unfinishedBackup('shop')).toMatchObject({
        id: 'b1',
      });
    });

    it('moves a backup along only under the store lease, and fences a replica that lost it', async () => {
      const { stores, backups } = await setup();
      const hold = await readyStore(stores, 'shop');
      await backups.requestBackup(request('shop', 'b1'));
      const stale = { storeId: 'shop', token: 'replica-gone/1' };
      expect(await backups.startBackup('b1', stale)).toBe(false);
      expect(await backups.startBackup('b1', hold)).toBe(true);
      expect(await backups.startBackup('b1', hold)).toBe(false);
      expect(
        await backups.finishBackup('b1', stale, {
          status: 'Failed',
          message: 'x',
        }),
      ).toBe(false);
      expect(
        await backups.finishBackup('b1', hold, {
          status: 'Succeeded',
          sizeBytes: 12_345,
        }),
      ).toBe(true);
      const done = await backups.getBackup('shop', 'b1');
      expect(done).toMatchObject({ status: 'Succeeded', sizeBytes: 12_345 });
      expect(done!.finishedAt).toBeGreaterThanOrEqual(done!.startedAt!);
      expect(await backups.unfinishedBackup('shop')).toBeUndefined();
      // A finished backup stays finished.
      expect(
        await backups.finishBackup('b1', hold, {
          status: 'Failed',
          message: 'late',
        }),
      ).toBe(false);
    });

    it('lists newest first and names the Succeeded backups past the retention count', async () => {
      const { stores, backups, clock } = await setup();
      const hold = await readyStore(stores, 'shop');
      for (const [i, status] of [
        'Succeeded',
        'Failed',
        'Succeeded',
        'Succeeded',
      ].entries()) {
        clock.shiftMs = i * 1000;
        await backups.requestBackup(request('shop', `b${i}`));
        await backups.startBackup(`b${i}`, hold);
        await backups.finishBackup(
          `b${i}`,
          hold,
          status === 'Succeeded'
            ? { status, sizeBytes: i }
            : { status: 'Failed', message: 'dump failed' },
        );
      }
      const listed = await backups.listBackups('shop', 10);
      expect(listed.map(b => [b.id, b.status])).toEqual([
        ['b3', 'Succeeded'],
        ['b2', 'Succeeded'],
        ['b1', 'Failed'],
        ['b0', 'Succeeded'],
      ]);
      expect(listed[2].message).toBe('dump failed');
      expect((await backups.listBackups('shop', 2)).map(b => b.id)).toEqual([
        'b3',
        'b2',
      ]);
      const expired = await backups.backupsBeyondRetention('shop', 2);
      expect(expired.map(b => b.file)).toEqual(['/backups/b0.sql.gz']);
      expect(
        await backups.deleteFinishedBackups(['b0'], {
          storeId: 'shop',
          token: 'replica-gone/1',
        }),
      ).toBe(0);
      expect(await backups.deleteFinishedBackups(['b0'], hold)).toBe(1);
      expect(await backups.backupsBeyondRetention('shop', 2)).toEqual([]);
    });

    it('goes with its store when the store is deleted, and the migration rolls back', async () => {
      const { knex, stores, backups } = await setup();
      const hold = await readyStore(stores, 'shop');
      await backups.requestBackup(request('shop', 'b1'));
      await stores.releaseStore('shop', hold.token);
      expect(await stores.requestDeletion('shop', Date.now())).toBeTruthy();
      const [due] = await stores.findDueStores(10);
      const claimed = await stores.claimStore(due, hold.token, LEASE);
      expect(
        await stores.deleteClaimedStore(
          'shop',
          hold.token,
          claimed!.store.generation,
        ),
      ).toBe(true);
      expect(await backups.listBackups('shop', 10)).toEqual([]);
      await rollbackDatabase(knex);
      expect(await knex.schema.hasTable('store_backups')).toBe(false);
    });
  },
);
