import { LoggerService } from '@backstage/backend-plugin-api';
import { Knex } from 'knex';

/** The PostgreSQL channel on which replicas tell each other that a store is due now. */
export const STORE_DUE_CHANNEL = 'storeplane_store_due';

const RECONNECT_MIN_MS = 1_000;
const RECONNECT_MAX_MS = 30_000;

/** The part of a node-postgres client that listening needs. */
interface ListeningConnection {
  query(sql: string): Promise<unknown>;
  on(event: 'notification', listener: (message: Notification) => void): void;
  on(event: 'error' | 'end', listener: (error?: unknown) => void): void;
  /** Set by knex when the connection failed or ended. */
  __knex__disposed?: unknown;
}

interface Notification {
  channel: string;
  payload?: string;
}

export interface DueNotificationsOptions {
  knex: Knex;
  logger: LoggerService;
  /** `storeplane.reconciler.notify.enabled`. */
  enabled: boolean;
  /** Sent as the payload, so a replica does not wake itself twice. */
  replicaId: string;
  /** How long the loop may take to find due work without a notification, for the log. */
  fallbackMs: number;
}

/**
 * Wakes every replica's reconcile loop when one replica makes a store due (a create, delete,
 * retry, change request or watch event), instead of leaving it to the other replicas' next
 * tick. On PostgreSQL the replica that committed the change sends `NOTIFY
 * storeplane_store_due`, and every replica `LISTEN`s on one connection of its own, opened with
 * the plugin's own connection settings outside its pool (as knex opens one to cancel a query).
 * A dropped connection is opened again with backoff, and the replica then looks for due stores
 * once, for what it missed meanwhile. Notifications are hints like any wake-up; the claim stays
 * the arbiter. On SQLite, which one process opens, this does nothing.
 */
export class DueNotifications {
  private readonly active: boolean;
  private onDue: (() => void) | undefined;
  private connection: ListeningConnection | undefined;
  private stopped = false;
  private listenedBefore = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private listenWarned = false;
  private publishWarned = false;

  constructor(private readonly options: DueNotificationsOptions) {
    this.active = options.enabled && options.knex.client.config.client === 'pg';
  }

  /** Tells every other replica that a store is due now; call it after the change committed. */
  async publish(): Promise<void> {
    if (!this.active || this.stopped) return;
    try {
      await this.options.knex.raw('select pg_notify(?, ?)', [
        STORE_DUE_CHANNEL,
        this.options.replicaId,
      ]);
      this.publishWarned = false;
    } catch (error) {
      if (this.publishWarned) return;
      this.publishWarned = true;
      this.options.logger.warn(
        `Could not tell the other replicas that a store is due: ${error}; they find it on their next timer or tick`,
      );
    }
  }

  /** Calls `onDue` whenever another replica made a store due, and after every reconnect. */
  listen(onDue: () => void): void {
    if (!this.active || this.stopped || this.onDue) return;
    this.onDue = onDue;
    void this.connect();
  }

  /** Stops listening and closes the connection (one still being opened closes when it opens). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const connection = this.connection;
    this.connection = undefined;
    if (connection) await this.close(connection);
  }

  private async connect(): Promise<void> {
    let connection: ListeningConnection | undefined;
    try {
      connection =
        (await this.options.knex.client.acquireRawConnection()) as ListeningConnection;
      connection.on('notification', message => {
        if (
          message.channel === STORE_DUE_CHANNEL &&
          message.payload !== this.options.replicaId
        )
          this.onDue?.();
      });
      const opened = connection;
      opened.on('error', error => this.lost(opened, error));
      opened.on('end', () => this.lost(opened, 'the connection ended'));
      await connection.query(`LISTEN ${STORE_DUE_CHANNEL}`);
    } catch (error) {
      if (connection) await this.close(connection);
      this.retryLater(error);
      return;
    }
    if (this.stopped) {
      await this.close(connection);
      return;
    }
    if (connection.__knex__disposed) {
      // It ended before it was ours to watch: its 'end' went unheeded.
      await this.close(connection);
      this.retryLater(connection.__knex__disposed);
      return;
    }
    this.connection = connection;
    this.failures = 0;
    if (this.listenWarned) {
      this.listenWarned = false;
      this.options.logger.info(
        'Listening again for stores that other replicas make due',
      );
    }
    if (this.listenedBefore) this.onDue?.();
    this.listenedBefore = true;
  }

  private lost(connection: ListeningConnection, reason: unknown) {
    if (this.connection !== connection) return;
    this.connection = undefined;
    void this.close(connection);
    this.retryLater(reason);
  }

  private retryLater(reason: unknown) {
    if (this.stopped) return;
    if (!this.listenWarned) {
      this.listenWarned = true;
      this.options.logger.warn(
        `Cannot listen for stores that other replicas make due (${reason}); this replica finds them on its timer or its tick (every ${
          this.options.fallbackMs / 1000
        } s) until it can, and keeps trying`,
      );
    }
    const delayMs = Math.min(
      RECONNECT_MAX_MS,
      RECONNECT_MIN_MS * 2 ** this.failures,
    );
    this.failures++;
    this.retryTimer = setTimeout(() => void this.connect(), delayMs);
    this.retryTimer.unref();
  }

  private async close(connection: ListeningConnection) {
    try {
      await this.options.knex.client.destroyRawConnection(connection);
    } catch {
      // Already closed: the server ended it.
    }
  }
}
