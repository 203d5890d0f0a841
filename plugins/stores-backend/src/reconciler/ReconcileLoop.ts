import { LoggerService } from '@backstage/backend-plugin-api';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { StoreRepository } from '../database/StoreRepository';
import { StoreReconciler } from './StoreReconciler';

export interface ReconcileLoopOptions {
  repository: StoreRepository;
  reconciler: StoreReconciler;
  logger: LoggerService;
  concurrency: number;
  leaseMs: number;
  eventRetentionMs: number;
  createRateWindowMs: number;
  now?: () => number;
  /** Identity of this replica in leases; unique per process. */
  holderId?: string;
}

/**
 * One pass over the stores with work due: claim each with a lease, reconcile, release.
 * Every replica runs it; the per-store lease makes sure only one works on a store at a time.
 */
export class ReconcileLoop {
  readonly holderId: string;
  private readonly now: () => number;
  private running: Promise<void> | undefined;
  private rerun = false;

  constructor(private readonly options: ReconcileLoopOptions) {
    this.now = options.now ?? Date.now;
    this.holderId =
      options.holderId ??
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

  async runOnce(): Promise<number> {
    const { repository, reconciler, logger, concurrency, leaseMs } =
      this.options;
    const due = await repository.findDueStoreIds(this.now(), concurrency * 4);
    let worked = 0;
    const queue = [...due];
    const worker = async () => {
      for (let id = queue.shift(); id; id = queue.shift()) {
        const store = await repository.claimStore(
          id,
          this.holderId,
          this.now(),
          leaseMs,
        );
        if (!store) continue;
        worked++;
        try {
          await reconciler.reconcile(store, this.holderId);
        } catch (error) {
          logger.error(
            `Reconciling store ${id} failed unexpectedly`,
            error as Error,
          );
        } finally {
          await repository.releaseStore(id, this.holderId);
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
    const now = this.now();
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
