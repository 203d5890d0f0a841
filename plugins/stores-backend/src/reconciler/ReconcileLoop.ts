import { LoggerService } from '@backstage/backend-plugin-api';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { StoreStep } from '@storeplane/plugin-stores-common';
import { DueStore, StoreRepository } from '../database/StoreRepository';
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
}

/** The wake-up timer never sleeps longer than this, however far off the next due store is. */
const MAX_SLEEP_MS = 60_000;
/** Shortest sleep, so that a due time the claim query does not yet see cannot make a busy loop. */
const MIN_SLEEP_MS = 10;

/**
 * The reconcile work queue of one replica. Once started, up to `concurrency` workers claim due
 * stores, oldest due first, each taking the next one as soon as it is free. When nothing is due,
 * a timer sleeps until the earliest due time the database reports; `wake()` (a create, delete or
 * retry, the scheduler's safety-net tick) looks at once. Wake-ups are only hints: every store is
 * taken with a claim that re-checks in the database that it is due and free, so replicas and
 * stale hints cannot run a store twice (see StoreLease).
 */
export class ReconcileLoop {
  readonly replicaId: string;
  private state: 'new' | 'running' | 'stopped' = 'new';
  private workers = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private queue: DueStore[] = [];
  private fetching: Promise<number> | undefined;
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

  constructor(private readonly options: ReconcileLoopOptions) {
    this.replicaId =
      options.replicaId ??
      `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  }

  /** Starts the workers on whatever is due now. */
  start(): void {
    if (this.state !== 'new') return;
    this.state = 'running';
    this.wake();
  }

  /** Work may be due now: idle workers look at once. A no-op unless started. */
  wake(): void {
    if (this.state !== 'running') return;
    this.wakeUps++;
    while (this.workers < this.options.concurrency) this.startWorker();
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
    if (await this.options.repository.markStoreDue(storeId, steps)) this.wake();
  }

  /**
   * Stops claiming stores and clears the timer; resolves when the claims in flight are done.
   * (A process that exits before that leaves leases that expire; another replica takes over.)
   */
  async stop(): Promise<void> {
    this.state = 'stopped';
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue = [];
    await Promise.all([...this.inFlight, this.sleeping]);
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
      const due = await this.nextDue();
      if (!due) return;
      await this.claimAndReconcile(due);
    }
  }

  /** The oldest due store not yet handed to a worker; undefined when none is due. */
  private async nextDue(): Promise<DueStore | undefined> {
    while (this.state === 'running') {
      const due = this.queue.shift();
      if (due) return due;
      const wakeUpsBefore = this.wakeUps;
      this.fetching ??= this.fetchDue().finally(() => {
        this.fetching = undefined;
      });
      const fetched = await this.fetching;
      const nothingDue = fetched === 0 && this.queue.length === 0;
      if (nothingDue && this.wakeUps === wakeUpsBefore) return undefined;
    }
    return undefined;
  }

  /** Fills the local queue with the oldest due stores nobody holds; returns how many. */
  private async fetchDue(): Promise<number> {
    const due = await this.options.repository.findDueStores(
      this.options.concurrency,
    );
    if (this.state !== 'running') return 0;
    const queued = new Set(this.queue.map(store => store.id));
    const fresh = due.filter(store => !queued.has(store.id));
    this.queue.push(...fresh);
    return fresh.length;
  }

  /**
   * Whether a due store waits for a worker: only when every worker is busy (an idle one would
   * take it), read into the local queue so the next free worker takes it without a second query.
   */
  private async othersWaiting(): Promise<boolean> {
    if (this.state !== 'running') return false;
    if (this.queue.length > 0) return true;
    if (this.workers < this.options.concurrency) return false;
    this.fetching ??= this.fetchDue().finally(() => {
      this.fetching = undefined;
    });
    await this.fetching;
    return this.queue.length > 0;
  }

  /** Claims a due store and reconciles it; false when another worker or replica had it first. */
  private async claimAndReconcile(due: DueStore): Promise<boolean> {
    const { repository, reconciler, logger, leaseMs } = this.options;
    const lease = await StoreLease.claim({
      repository,
      logger,
      due,
      replicaId: this.replicaId,
      leaseMs,
    });
    if (!lease) return false;
    this.held.add(due.id);
    try {
      await reconciler.reconcile(lease, () => this.othersWaiting());
    } catch (error) {
      logger.error(
        `Reconciling store ${due.id} failed unexpectedly`,
        error as Error,
      );
    } finally {
      try {
        // The claims log: who held which store when, on the database's clock.
        const span = await lease.release(this.options.unfinishedRetryMs);
        logger.debug(`Released store ${span.storeId}`, { ...span });
      } finally {
        this.held.delete(due.id);
      }
      const changed = this.changedWhileHeld.get(due.id);
      this.changedWhileHeld.delete(due.id);
      if (changed) await repository.markStoreDue(due.id, changed);
    }
    return true;
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
