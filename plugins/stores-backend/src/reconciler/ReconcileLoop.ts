import { LoggerService } from '@backstage/backend-plugin-api';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { StoreStep } from '@storeplane/plugin-stores-common';
import { DueStore, StoreRepository } from '../database/StoreRepository';
import { DueNotifications } from '../database/DueNotifications';
import { StoreLease } from './StoreLease';
import { StoreReconciler } from './StoreReconciler';

export interface ReconcileLoopOptions {
  repository: StoreRepository;
  reconciler: Pick<StoreReconciler, 'reconcile'>;
  logger: LoggerService;
  concurrency: number;
  leaseMs: number;
  eventRetentionMs: number;
  createRateWindowMs: number;
  /**
   * When a store whose claim ended without scheduling its next look (the reconciler failed
   * unexpectedly) is looked at again; the scheduler's safety-net period.
   */
  unfinishedRetryMs: number;
  /** Identity of this replica in lease tokens; unique per process. */
  replicaId?: string;
  /**
   * Tells the other replicas when this one makes a store due, and wakes this one when they do.
   * Given the loop's replica id (set or generated), which the notifications carry. None when unset.
   */
  dueNotifications?: (replicaId: string) => DueNotifications;
}

/** The wake-up timer never sleeps longer than this, however far off the next due store is. */
const MAX_SLEEP_MS = 60_000;
/** Shortest sleep, so that a due time the claim query does not yet see cannot make a busy loop. */
const MIN_SLEEP_MS = 10;

/**
 * The reconcile work queue of one replica. Once started, up to `concurrency` workers claim due
 * stores, oldest due first, each taking the next one as soon as it is free. When nothing is due,
 * a timer sleeps until the earliest due time the database reports; `wake()` (a create, delete or
 * retry, the scheduler's safety-net tick) looks at once. Wake-ups are only hints: each worker
 * claims the oldest due store nobody holds in one database statement that picks and leases it,
 * so replicas and stale hints cannot run a store twice, and workers of several replicas claiming
 * at once take different stores rather than racing for the same one (see StoreLease).
 */
export class ReconcileLoop {
  readonly replicaId: string;
  private state: 'new' | 'running' | 'stopped' = 'new';
  private workers = 0;
  private readonly inFlight = new Set<Promise<void>>();
  /** Counts wake-ups, so a fetch that began before one is not taken as "nothing is due". */
  private wakeUps = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDueAt = Infinity;
  private sleeping: Promise<void> | undefined;
  private sleepAgain = false;
  /** Stores this replica holds now, and those of them a watch saw change meanwhile. */
  private readonly held = new Set<string>();
  private readonly changedWhileHeld = new Map<
    string,
    ReadonlyArray<StoreStep | null>
  >();
  private readonly dueNotifications: DueNotifications | undefined;

  constructor(private readonly options: ReconcileLoopOptions) {
    this.replicaId =
      options.replicaId ??
      `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.dueNotifications = options.dueNotifications?.(this.replicaId);
  }

  /** Starts the workers on whatever is due now, and listens for stores other replicas make due. */
  start(): void {
    if (this.state !== 'new') return;
    this.state = 'running';
    this.dueNotifications?.listen(() => this.wake());
    this.wake();
  }

  /**
   * This replica has just committed a change that makes a store due now (a create, delete,
   * retry or change request): it looks at once, and so does every other replica, so that
   * whichever has a free worker takes the store.
   */
  storeMadeDue(): void {
    this.wake();
    void this.dueNotifications?.publish();
  }

  /**
   * Work may be due now: one more worker looks at once (each worker that finds a store starts
   * another, up to the concurrency, so a burst still gets every worker). A no-op unless started.
   */
  wake(): void {
    if (this.state !== 'running') return;
    this.wakeUps++;
    if (this.workers < this.options.concurrency) this.startWorker();
  }

  /**
   * Something store `storeId` waits for changed in the cluster (a watch saw it): it is due now,
   * in the database, so whichever replica is free takes it, and this replica looks at once.
   * A claim of this replica that holds the store may have looked before the change and will
   * schedule a later look when it ends, so the store is marked due again after its release.
   */
  async storeChanged(
    storeId: string,
    steps: ReadonlyArray<StoreStep | null>,
  ): Promise<void> {
    if (this.state === 'stopped') return;
    if (this.held.has(storeId)) {
      const marked = this.changedWhileHeld.get(storeId) ?? [];
      this.changedWhileHeld.set(storeId, [...new Set([...marked, ...steps])]);
    }
    if (await this.options.repository.markStoreDue(storeId, steps))
      this.storeMadeDue();
  }

  /**
   * Stops claiming stores and clears the timer; resolves when the claims in flight are done.
   * (A process that exits before that leaves leases that expire; another replica takes over.)
   */
  async stop(): Promise<void> {
    this.state = 'stopped';
    clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.all([
      ...this.inFlight,
      this.sleeping,
      this.dueNotifications?.stop(),
    ]);
  }

  /**
   * One pass, for tests and benchmarks that step the loop by hand: claims and reconciles the
   * stores due now, `concurrency` at a time; returns how many it worked on.
   */
  async runOnce(): Promise<number> {
    const queue = await this.options.repository.findDueStores(
      this.options.concurrency * 4,
    );
    let worked = 0;
    const worker = async () => {
      for (let due = queue.shift(); due; due = queue.shift()) {
        if (await this.claimAndReconcile(due)) worked++;
      }
    };
    await Promise.all(
      Array.from(
        { length: Math.min(this.options.concurrency, queue.length) },
        worker,
      ),
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

  private startWorker() {
    this.workers++;
    const run = this.work()
      .catch(error =>
        this.options.logger.error(
          `The reconcile loop could not look for due stores: ${error}; the next wake-up or tick tries again`,
        ),
      )
      .finally(() => {
        this.workers--;
        this.inFlight.delete(run);
        this.sleepUntilNextDue();
      });
    this.inFlight.add(run);
  }

  private async work(): Promise<void> {
    for (;;) {
      const lease = await this.claimNext();
      if (!lease) return;
      // More may be due. Starting one worker per find, rather than every idle worker per
      // wake-up, keeps a wake-up for one store from costing a claim query per idle worker.
      if (this.workers < this.options.concurrency) this.startWorker();
      await this.reconcileClaimed(lease);
    }
  }

  /**
   * A claim on the oldest due store nobody holds; undefined when none is due and no wake-up
   * came while looking (one that did may mean a store fell due after the claim's query).
   */
  private async claimNext(): Promise<StoreLease | undefined> {
    const { repository, logger, leaseMs } = this.options;
    while (this.state === 'running') {
      const wakeUpsBefore = this.wakeUps;
      const lease = await StoreLease.claimNext({
        repository,
        logger,
        replicaId: this.replicaId,
        leaseMs,
      });
      if (lease || this.wakeUps === wakeUpsBefore) return lease;
    }
    return undefined;
  }

  /** Whether a due store waits for a worker: only when every worker is busy (an idle one would take it). */
  private async othersWaiting(): Promise<boolean> {
    if (this.state !== 'running') return false;
    if (this.workers < this.options.concurrency) return false;
    return this.options.repository.hasDueStore();
  }

  /** Claims a due store and reconciles it; false when another worker or replica had it first. */
  private async claimAndReconcile(due: DueStore): Promise<boolean> {
    const { repository, logger, leaseMs } = this.options;
    const lease = await StoreLease.claim({
      repository,
      logger,
      due,
      replicaId: this.replicaId,
      leaseMs,
    });
    if (!lease) return false;
    await this.reconcileClaimed(lease);
    return true;
  }

  /** Reconciles a claimed store, then releases it. */
  private async reconcileClaimed(lease: StoreLease): Promise<void> {
    const { repository, reconciler, logger } = this.options;
    const storeId = lease.store.id;
    this.held.add(storeId);
    try {
      await reconciler.reconcile(lease, () => this.othersWaiting());
    } catch (error) {
      logger.error(
        `Reconciling store ${storeId} failed unexpectedly`,
        error as Error,
      );
    } finally {
      try {
        // The claims log: who held which store when, on the database's clock.
        const span = await lease.release(this.options.unfinishedRetryMs);
        logger.debug(`Released store ${span.storeId}`, { ...span });
      } finally {
        this.held.delete(storeId);
      }
      const changed = this.changedWhileHeld.get(storeId);
      this.changedWhileHeld.delete(storeId);
      if (changed) await repository.markStoreDue(storeId, changed);
    }
  }

  /**
   * Sets the wake-up timer to the earliest due time of a store nobody holds. Stores held by
   * another replica are not waited for: when such a lease expires (its replica died) the
   * scheduler's tick finds the store.
   */
  private sleepUntilNextDue() {
    if (this.state !== 'running' || this.workers >= this.options.concurrency)
      return;
    if (this.sleeping) {
      this.sleepAgain = true;
      return;
    }
    this.sleeping = (async () => {
      do {
        this.sleepAgain = false;
        const { nextDueAt, now } = await this.options.repository.nextDueTime();
        if (nextDueAt !== undefined) this.setTimer(nextDueAt - now);
      } while (this.sleepAgain && this.state === 'running');
    })()
      .catch(error =>
        this.options.logger.warn(
          `The reconcile loop could not read the next due time: ${error}; the scheduler's tick wakes it`,
        ),
      )
      .finally(() => {
        this.sleeping = undefined;
      });
  }

  private setTimer(delayMs: number) {
    if (this.state !== 'running') return;
    const sleepMs = Math.min(MAX_SLEEP_MS, Math.max(MIN_SLEEP_MS, delayMs));
    const dueAt = performance.now() + sleepMs;
    // An earlier timer already covers it.
    if (this.timer && this.timerDueAt <= dueAt) return;
    clearTimeout(this.timer);
    this.timerDueAt = dueAt;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerDueAt = Infinity;
      this.wake();
    }, sleepMs);
    this.timer.unref();
  }
}
