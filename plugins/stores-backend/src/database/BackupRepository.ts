import { StoreWorkRepository } from './StoreWorkRepository';
import { toNumber } from './columnValues';

export type BackupStatus = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

/** One row of `store_backups`, with times as epoch milliseconds. */
export interface BackupRecord {
  id: string;
  storeId: string;
  status: BackupStatus;
  requestedBy: string;
  /** Path of the dump on the store's backups volume. */
  file: string;
  sizeBytes: number | null;
  message: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

/** Why a backup was not recorded. */
export type BackupRefusal =
  | 'storeNotFound'
  | 'storeNotReady'
  | 'backupInProgress';

/** The reconciler's hold on a store: backup changes need its lease (fencing). */
export interface StoreLeaseHold {
  storeId: string;
  token: string;
}

const UNFINISHED: BackupStatus[] = ['Pending', 'Running'];

function fromRow(row: any): BackupRecord {
  return {
    id: row.id,
    storeId: row.store_id,
    status: row.status,
    requestedBy: row.requested_by,
    file: row.file,
    sizeBytes: toNumber(row.size_bytes),
    message: row.message ?? null,
    createdAt: Number(row.created_at),
    startedAt: toNumber(row.started_at),
    finishedAt: toNumber(row.finished_at),
  };
}

/**
 * SQL of store backups. Requests come from the API; the reconciler moves a backup along only
 * while it holds its store's lease, so a replica that lost the lease cannot overwrite the
 * outcome another replica recorded.
 */
export class BackupRepository extends StoreWorkRepository {
  /**
   * Records a backup of a Ready store, with a `backup.requested` event naming who asked, and
   * makes the store due, so the reconciler picks it up now. At most one unfinished backup per
   * store: a second request is refused.
   */
  async requestBackup(backup: {
    id: string;
    storeId: string;
    requestedBy: string;
    file: string;
  }): Promise<BackupRecord | BackupRefusal> {
    const refusalOrNone = await this.db.transaction(async tx => {
      const store = await tx('stores')
        .where('id', backup.storeId)
        .forUpdate()
        .first('status', 'desired_state');
      if (!store) return 'storeNotFound' as const;
      if (store.status !== 'Ready' || store.desired_state !== 'present') {
        return 'storeNotReady' as const;
      }
      const unfinished = await tx('store_backups')
        .where('store_id', backup.storeId)
        .whereIn('status', UNFINISHED)
        .first('id');
      if (unfinished) return 'backupInProgress' as const;
      await tx('store_backups').insert({
        id: backup.id,
        store_id: backup.storeId,
        status: 'Pending',
        requested_by: backup.requestedBy,
        file: backup.file,
        created_at: this.clock(),
      });
      await tx('store_events').insert({
        store_id: backup.storeId,
        created_at: this.clock(),
        type: 'backup.requested',
        level: 'info',
        message: `Backup ${backup.id} requested`,
        actor: backup.requestedBy,
      });
      await tx('stores')
        .where('id', backup.storeId)
        .update({ next_attempt_at: this.clock() });
      return undefined;
    });
    return refusalOrNone ?? (await this.getBackup(backup.storeId, backup.id))!;
  }

  async getBackup(
    storeId: string,
    id: string,
  ): Promise<BackupRecord | undefined> {
    const row = await this.db('store_backups')
      .where({ store_id: storeId, id })
      .first();
    return row ? fromRow(row) : undefined;
  }

  /** A store's backups, newest first. */
  async listBackups(storeId: string, limit: number): Promise<BackupRecord[]> {
    const rows = await this.db('store_backups')
      .where('store_id', storeId)
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(limit);
    return rows.map(fromRow);
  }

  /** The store's unfinished backup (at most one), if any. */
  async unfinishedBackup(storeId: string): Promise<BackupRecord | undefined> {
    const row = await this.db('store_backups')
      .where('store_id', storeId)
      .whereIn('status', UNFINISHED)
      .orderBy('created_at', 'asc')
      .first();
    return row ? fromRow(row) : undefined;
  }

  /** Pending → Running; false when the backup is not Pending or the lease is not held. */
  async startBackup(id: string, hold: StoreLeaseHold): Promise<boolean> {
    const updated = await this.whereLeaseHeld(
      this.db('store_backups').where({
        id,
        store_id: hold.storeId,
        status: 'Pending',
      }),
      hold,
    ).update({ status: 'Running', started_at: this.clock() });
    return updated === 1;
  }

  /** Running → Succeeded or Failed; false when it is not Running or the lease is not held. */
  async finishBackup(
    id: string,
    hold: StoreLeaseHold,
    outcome:
      | { status: 'Succeeded'; sizeBytes: number }
      | { status: 'Failed'; message: string },
  ): Promise<boolean> {
    const updated = await this.whereLeaseHeld(
      this.db('store_backups').where({
        id,
        store_id: hold.storeId,
        status: 'Running',
      }),
      hold,
    ).update({
      status: outcome.status,
      size_bytes: outcome.status === 'Succeeded' ? outcome.sizeBytes : null,
      message: outcome.status === 'Failed' ? outcome.message : null,
      finished_at: this.clock(),
    });
    return updated === 1;
  }

  /** Succeeded backups older than the newest `keep` ones: what retention removes. */
  async backupsBeyondRetention(
    storeId: string,
    keep: number,
  ): Promise<BackupRecord[]> {
    const rows = await this.db('store_backups')
      .where({ store_id: storeId, status: 'Succeeded' })
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .offset(keep)
      .limit(1000);
    return rows.map(fromRow);
  }

  /** Removes finished backups' rows (their files are gone); only under the store's lease. */
  async deleteFinishedBackups(
    ids: string[],
    hold: StoreLeaseHold,
  ): Promise<number> {
    if (ids.length === 0) return 0;
    return this.whereLeaseHeld(
      this.db('store_backups')
        .where('store_id', hold.storeId)
        .whereIn('id', ids)
        .whereNotIn('status', UNFINISHED),
      hold,
    ).delete();
  }
}
