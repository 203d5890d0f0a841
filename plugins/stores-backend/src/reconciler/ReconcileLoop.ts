import { LoggerService } from '@backstage/backend-plugin-api';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { StoreRepository } from '../database/StoreRepository';
import { StoreLease } from './StoreLease';
import { StoreReconciler } from './StoreReconciler';

export interface ReconcileLoopOptions {
  repository: StoreRepository;
  reconciler: StoreReconciler;
  logger: LoggerService;
  concurrency: number;
  leaseMs: number;
  eventRetentionMs: number;
  createRateWindowMs: number;
  /** Identity of this replica in lease tokens; unique per process. */
  replicaId?: string;
}

/**
 * One pass over the stores with work due: claim each with a lease, reconcile, release.
 * Every replica runs it; the per-store lease makes sure only one works on a store at a time.
 */
export class ReconcileLoop {
  readonly replicaId: string;
  private running: Promise<void> | undefined;
  private rerun = false;

  constructor(private readonly options: ReconcileLoopOptions) {
    this.replicaId =
      options.replicaId ??
      `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  }

  /** Runs a pass now (e.g. right after a create); a pass already running is followed by one more. */
  trigger(): Promise<void> {
    if (this.running) {
      this.rerun = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.rerun = false;
          await this.runOnce();
        } while (this.rerun);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Claims and reconciles due stores, `concurrency` at a time; returns how many it worked on. */
  async runOnce(): Promise<number> {
    const { repository, reconciler, logger, concurrency, leaseMs } =
      this.options;
    const queue = await repository.findDueStores(concurrency * 4);
    let worked = 0;
    const worker = async () => {
      for (let due = queue.shift(); due; due = queue.shift()) {
        const lease = await StoreLease.claim({
          repository,
          logger,
          due,
          replicaId: this.replicaId,
          leaseMs,
        });
        if (!lease) continue;
        worked++;
        try {
          await reconciler.reconcile(lease);
        } catch (error) {
          logger.error(
            `Reconciling store ${due.id} failed unexpectedly`,
            error as Error,
          );
        } finally {
          // The claims log: who held which store when, on the database's clock.
          const span = await lease.release();
          logger.debug(`Released store ${span.storeId}`, { ...span });
        }
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(concurrency, queue.length) }, worker),
    );
    return worked;
  }

  /** Housekeeping: events of deleted stores past the audit period, old rate-limit records. */
  async purgeExpired(): Promise<void> {
    const now = await this.options.repository.databaseNow();
    const purged = await this.options.repository.purgeEventsOfDeletedStores(
      now - this.options.eventRetentionMs,
    );
    await this.options.repository.pruneCreateRequests(
      now - this.options.createRateWindowMs,
    );
    if (purged > 0)
      this.options.logger.info(
        `Purged ${purged} events of deleted stores past the audit period`,
      );
  }
}
