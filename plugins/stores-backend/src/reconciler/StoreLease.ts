import { LoggerService } from '@backstage/backend-plugin-api';
import { randomUUID } from 'node:crypto';
import {
  ClaimedStore,
  DueStore,
  StoreRecord,
  StoreRepository,
} from '../database/StoreRepository';

/** The worker no longer holds its store: it must stop before it changes anything else. */
export class LeaseLostError extends Error {
  readonly name = 'LeaseLostError';
}

/** The claim's span on the database's clock, for the claims log. */
export interface ClaimSpan {
  storeId: string;
  claim: string;
  claimedAt: number;
  /**
   * The store's next attempt time in the row the claim's own UPDATE returned: a claim with
   * `dueAt` after `claimedAt` took a store that was not due (the claim must never do that).
   */
  dueAt: number;
  releasedAt: number;
}

/**
 * One claim on one store. Its token (unique per claim, not per replica) is the store's
 * `lease_holder`, so a worker of the same replica that claims the store later is a different
 * holder too. A heartbeat renews the lease while work goes on; `assertHeld` renews it in the
 * database before every Kubernetes write, so a worker whose lease expired, or whose store a
 * user changed, stops before it touches the cluster again.
 */
export class StoreLease {
  private lostReason: string | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly startedAt = performance.now();

  private constructor(
    private readonly repository: StoreRepository,
    private readonly logger: LoggerService,
    readonly token: string,
    readonly store: StoreRecord,
    /** The database's clock when the lease was taken. */
    readonly claimedAt: number,
    private readonly leaseMs: number,
  ) {}

  static async claim(options: {
    repository: StoreRepository;
    logger: LoggerService;
    due: DueStore;
    replicaId: string;
    leaseMs: number;
  }): Promise<StoreLease | undefined> {
    const token = StoreLease.newToken(options.replicaId);
    const claimed = await options.repository.claimStore(
      options.due,
      token,
      options.leaseMs,
    );
    return claimed ? StoreLease.start(options, token, claimed) : undefined;
  }

  /** A claim on the oldest due store nobody holds; undefined when none is due. */
  static async claimNext(options: {
    repository: StoreRepository;
    logger: LoggerService;
    replicaId: string;
    leaseMs: number;
  }): Promise<StoreLease | undefined> {
    const token = StoreLease.newToken(options.replicaId);
    const claimed = await options.repository.claimNextDueStore(
      token,
      options.leaseMs,
    );
    return claimed ? StoreLease.start(options, token, claimed) : undefined;
  }

  private static newToken(replicaId: string): string {
    return `${replicaId}/${randomUUID().slice(0, 8)}`;
  }

  private static start(
    options: {
      repository: StoreRepository;
      logger: LoggerService;
      leaseMs: number;
    },
    token: string,
    claimed: ClaimedStore,
  ): StoreLease {
    const lease = new StoreLease(
      options.repository,
      options.logger,
      token,
      claimed.store,
      claimed.claimedAt,
      options.leaseMs,
    );
    lease.startHeartbeat();
    return lease;
  }

  /** Time since the claim on this process's monotonic clock (immune to clock changes). */
  elapsedMs(): number {
    return performance.now() - this.startedAt;
  }

  /** The database's clock now, from the claim time and the monotonic time since. */
  databaseNow(): number {
    return this.claimedAt + this.elapsedMs();
  }

  get leaseDurationMs(): number {
    return this.leaseMs;
  }

  /** Renews the lease in the database, or throws LeaseLostError when it is gone. */
  async assertHeld(): Promise<void> {
    if (this.lostReason) throw new LeaseLostError(this.lostReason);
    if (!(await this.renew())) throw new LeaseLostError(this.lostReason);
  }

  /**
   * Ends the claim: stops the heartbeat and frees the store (if still held). A store whose
   * next look nothing scheduled during the claim is looked at again `unfinishedRetryInMs` later.
   */
  async release(unfinishedRetryInMs: number): Promise<ClaimSpan> {
    clearInterval(this.heartbeat);
    const releasedAt = await this.repository.releaseStore(
      this.store.id,
      this.token,
      {
        generation: this.store.generation,
        nextAttemptAt: this.store.nextAttemptAt,
        retryInMs: unfinishedRetryInMs,
      },
    );
    return {
      storeId: this.store.id,
      claim: this.token,
      claimedAt: this.claimedAt,
      dueAt: this.store.nextAttemptAt,
      releasedAt,
    };
  }

  private async renew(): Promise<boolean> {
    const held = await this.repository.renewLease(
      this.store.id,
      this.token,
      this.store.generation,
      this.leaseMs,
    );
    if (!held) {
      this.lostReason ??= `Lost the lease on store ${this.store.id}: it expired and another worker took it, or a user changed the store`;
      clearInterval(this.heartbeat);
    }
    return held;
  }

  private startHeartbeat() {
    this.heartbeat = setInterval(() => {
      this.renew().catch(error =>
        this.logger.warn(
          `Could not renew the lease on store ${this.store.id}; will try again`,
          error,
        ),
      );
    }, Math.max(1000, this.leaseMs / 3));
    this.heartbeat.unref();
  }
}
