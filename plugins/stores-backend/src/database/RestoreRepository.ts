import { StoreWorkRepository } from './StoreWorkRepository';
import { toNumber } from './columnValues';
import { newStoreGeneration } from './newStoreGeneration';
import type { StoreLeaseHold } from './BackupRepository';

export type RestoreStatus = 'Running' | 'Succeeded' | 'Failed';

/** One row of `store_restores`, with times as epoch milliseconds. */
export interface RestoreRecord {
  id: string;
  storeId: string;
  backupId: string;
  status: RestoreStatus;
  requestedBy: string;
  message: string | null;
  createdAt: number;
  jobStartedAt: number | null;
  finishedAt: number | null;
}

/** Why a restore was not recorded. */
export type RestoreRefusal =
  | 'storeNotFound'
  | 'backupNotFound'
  | 'backupNotSucceeded'
  | 'storeNotReady'
  | 'backupInProgress';

function fromRow(row: any): RestoreRecord {
  return {
    id: row.id,
    storeId: row.store_id,
    backupId: row.backup_id,
    status: row.status,
    requestedBy: row.requested_by,
    message: row.message ?? null,
    createdAt: Number(row.created_at),
    jobStartedAt: toNumber(row.job_started_at),
    finishedAt: toNumber(row.finished_at),
  };
}

/**
 * SQL of store restores. A request turns the store Restoring in the same transaction, so a
 * backup, an update, a domain change or a second restore of the store is refused until the
 * reconciler has finished it; the reconciler records the outcome only under the store's lease.
 */
export class RestoreRepository extends StoreWorkRepository {
  /**
   * Records a restore of a Succeeded backup into a Ready or Degraded store with a
   * `restore.requested` event naming who asked, and makes the store Restoring (step `restore`,
   * a new generation, due now). Refused, writing nothing, when the store or backup is unknown,
   * the backup has not Succeeded, the store is in any other state or one of its backups is
   * unfinished.
   */
  async requestRestore(restore: {
    id: string;
    storeId: string;
    backupId: string;
    requestedBy: string;
  }): Promise<RestoreRecord | RestoreRefusal> {
    const refusalOrNone = await this.db.transaction(async tx => {
      const store = await tx('stores')
        .where('id', restore.storeId)
        .forUpdate()
        .first('status', 'desired_state', 'step');
      if (!store) return 'storeNotFound' as const;
      const backup = await tx('store_backups')
        .where({ store_id: restore.storeId, id: restore.backupId })
        .first('status');
      if (!backup) return 'backupNotFound' as const;
      if (backup.status !== 'Succeeded') return 'backupNotSucceeded' as const;
      if (
        !['Ready', 'Degraded'].includes(store.status) ||
        store.step !== null ||
        store.desired_state !== 'present'
      ) {
        return 'storeNotReady' as const;
      }
      const unfinished = await tx('store_backups')
        .where('store_id', restore.storeId)
        .whereIn('status', ['Pending', 'Running'])
        .first('id');
      if (unfinished) return 'backupInProgress' as const;
      // A Running row of a store that is not Restoring (a store deleted and retried meanwhile)
      // is over: it can no longer finish.
      await tx('store_restores')
        .where({ store_id: restore.storeId, status: 'Running' })
        .update({
          status: 'Failed',
          message: 'Superseded by a later restore',
          finished_at: this.clock(),
        });
      await tx('store_restores').insert({
        id: restore.id,
        store_id: restore.storeId,
        backup_id: restore.backupId,
        status: 'Running',
        requested_by: restore.requestedBy,
        created_at: this.clock(),
      });
      await tx('stores')
        .where('id', restore.storeId)
        .update({
          ...newStoreGeneration(this.db, this.clock()),
          status: 'Restoring',
          step: 'restore',
        });
      await tx('store_events').insert({
        store_id: restore.storeId,
        created_at: this.clock(),
        type: 'restore.requested',
        level: 'info',
        message: `Restore of backup ${restore.backupId} requested; the store's data will be replaced by the backup's`,
        actor: restore.requestedBy,
      });
      return undefined;
    });
    return refusalOrNone ?? (await this.getRestore(restore.id))!;
  }

  async getRestore(id: string): Promise<RestoreRecord | undefined> {
    const row = await this.db('store_restores').where({ id }).first();
    return row ? fromRow(row) : undefined;
  }

  /** The store's running restore (at most one), if any. */
  async runningRestore(storeId: string): Promise<RestoreRecord | undefined> {
    const row = await this.db('store_restores')
      .where({ store_id: storeId, status: 'Running' })
      .orderBy('created_at', 'desc')
      .first();
    return row ? fromRow(row) : undefined;
  }

  /** Notes that the restore's Job was created; false when the lease is not held. */
  async markJobStarted(id: string, hold: StoreLeaseHold): Promise<boolean> {
    const updated = await this.runningRestoreUnderLease(id, hold).update({
      job_started_at: this.clock(),
    });
    return updated === 1;
  }

  /** Running → Succeeded or Failed; false when it is not Running or the lease is not held. */
  async finishRestore(
    id: string,
    hold: StoreLeaseHold,
    outcome: { status: 'Succeeded' } | { status: 'Failed'; message: string },
  ): Promise<boolean> {
    const updated = await this.runningRestoreUnderLease(id, hold).update({
      status: outcome.status,
      message: outcome.status === 'Failed' ? outcome.message : null,
      finished_at: this.clock(),
    });
    return updated === 1;
  }

  private runningRestoreUnderLease(id: string, hold: StoreLeaseHold) {
    return this.whereLeaseHeld(
      this.db('store_restores').where({
        id,
        store_id: hold.storeId,
        status: 'Running',
      }),
      hold,
    );
  }
}
