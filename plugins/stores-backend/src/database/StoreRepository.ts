import { Knex } from 'knex';
import { databaseClock } from './databaseClock';
import { newStoreGeneration } from './newStoreGeneration';
import {
  StoreEventLevel,
  StoreStatus,
  StoreStep,
} from '@storeplane/plugin-stores-common';
import { readKeysetPage, whereAfterPosition } from './afterPosition';
import { toNumber } from './columnValues';
import { StoreCounts, StorePlanCount } from './StoreCounts';

export type DesiredState = 'present' | 'absent';

/** One row of `stores`, with times as epoch milliseconds. */
export interface StoreRecord {
  id: string;
  name: string;
  /** The name shown to people; null until the store is renamed. */
  displayName: string | null;
  description: string | null;
  owner: string;
  createdBy: string;
  engine: string;
  plan: string;
  desiredState: DesiredState;
  status: StoreStatus;
  step: StoreStep | null;
  namespace: string;
  storefrontUrl: string | null;
  adminUrl: string | null;
  generation: number;
  attempts: number;
  nextAttemptAt: number;
  stepStartedAt: number;
  lastError: string | null;
  leaseHolder: string | null;
  leaseExpiresAt: number | null;
  createdAt: number;
  updatedAt: number;
  readyAt: number | null;
  /** When the reconciler first worked on the store in a cluster; null: nothing of it exists in one. */
  reachedClusterAt: number | null;
  /** Chart version of the release that last passed every gate. */
  chartVersion: string | null;
  /** Helm revision that last passed every gate: where a failed update rolls back to. */
  helmRevision: number | null;
  /** Plan of the release that last passed every gate (`plan` is what the owner asks for). */
  appliedPlan: string | null;
  /** Generation the release that last passed every gate reflects. */
  observedGeneration: number | null;
  /** Custom domain the owner asked for (lower case); null: the platform host only. */
  domain: string | null;
  /** Custom domain of the release that last passed every gate: where a failed change returns. */
  appliedDomain: string | null;
  /** What the DNS check found for the applied domain; null while none or its change runs. */
  domainStatus: StoreDomainStatus | null;
  domainCheckedAt: number | null;
  domainMessage: string | null;
}

export type StoreDomainStatus = 'AwaitingDns' | 'Active';

export interface StoreEventRecord {
  id: number;
  storeId: string;
  createdAt: number;
  type: string;
  level: StoreEventLevel;
  message: string;
  actor: string | null;
}

export interface NewStoreEvent {
  type: string;
  level: StoreEventLevel;
  message: string;
  actor?: string | null;
}

/**
 * Who a store belongs to: what ownership permission rules look at.
 *
 * @public
 */
export interface StoreOwnership {
  id: string;
  /** Entity ref of the owning user or group. */
  owner: string;
  /** User entity ref of whoever created the store. */
  createdBy: string;
}

/**
 * Filter on owner/created-by produced from permission conditions (see permissionRules.ts).
 *
 * @public
 */
export type StoreAccessFilter =
  | { anyOf: StoreAccessFilter[] }
  | { allOf: StoreAccessFilter[] }
  | { not: StoreAccessFilter }
  | { ownedBy: string[] };

/** Where a page of the store list ends, in the list's order (newest first, then by id). */
export interface StoreListPosition {
  createdAt: number;
  id: string;
}

export interface ListStoresFilter {
  owner?: string;
  ids?: string[];
  status?: StoreStatus;
  access?: StoreAccessFilter;
  /** Only stores after this position (keyset paging); `offset` then counts from it. */
  after?: StoreListPosition;
  offset: number;
  limit: number;
}

export type { StorePlanCount } from './StoreCounts';

/** How many matches past a page's offset the list counts before it stops counting. */
export const COUNTED_PAST_OFFSET = 1000;

export interface StorePage {
  items: StoreViewRecord[];
  /** Stores that match; a lower bound when `totalCountCapped`. */
  totalCount: number;
  /** More stores match than were counted (more than `offset + COUNTED_PAST_OFFSET`). */
  totalCountCapped: boolean;
  /** Where the next page starts; undefined on the last page. */
  next?: StoreListPosition;
}

/** Where a page of changed stores ends, in their order (oldest change first, then by id). */
export interface StoreChangePosition {
  updatedAt: number;
  id: string;
}

export interface ChangedStorePage {
  items: StoreViewRecord[];
  /** Where the next page starts; undefined on the last page. */
  next?: StoreChangePosition;
}

/** Where a page of removed stores ends, in their order (oldest removal first, then by id). */
export interface DeletedStorePosition {
  deletedAt: number;
  id: string;
}

export interface DeletedStorePage {
  items: DeletedStorePosition[];
  /** Where the next page starts; undefined on the last page. */
  next?: DeletedStorePosition;
}

/** A page of a store's events, newest first. */
export interface StoreEventPage {
  items: StoreEventRecord[];
  /** The id the next (older) page starts below; undefined when there are no older events. */
  nextBeforeId?: number;
}

/** What a requester and an owner already use, checked against limits before a create. */
export interface CreateUsage {
  /** Times of the requester's accepted creates within the rate window, oldest first. */
  recentCreates: number[];
  activeByUser: number;
  activeByOwner: number;
}

/**
 * What a lease holder may change on the store it holds. Times are never passed in: they come
 * from the database's clock, so replicas whose clocks disagree still agree on them.
 */
export type ClaimedStoreUpdate = Partial<
  Pick<
    StoreRecord,
    | 'status'
    | 'step'
    | 'storefrontUrl'
    | 'adminUrl'
    | 'attempts'
    | 'lastError'
    | 'plan'
    | 'chartVersion'
    | 'helmRevision'
    | 'appliedPlan'
    | 'observedGeneration'
    | 'domain'
    | 'appliedDomain'
    | 'domainStatus'
    | 'domainMessage'
  >
> & {
  /** Look at the store again this long from now. */
  nextAttemptInMs?: number;
  /** A new step begins now: its timer restarts. */
  startStep?: boolean;
  /** The store became Ready now. */
  markReady?: boolean;
  /** The store is about to make its first call to a cluster. */
  markReachedCluster?: boolean;
  /** The custom domain's DNS was checked now (true), or its last check is forgotten (false). */
  markDomainChecked?: boolean;
};

/** A store with work due, as the due query saw it; a claim re-checks all of it. */
export interface DueStore {
  id: string;
  generation: number;
}

/** What a claim saw of its store, to tell at release whether anything scheduled its next look. */
export interface UnfinishedClaim {
  generation: number;
  nextAttemptAt: number;
  /** Look at the store again this long from now if nothing did schedule it. */
  retryInMs: number;
}

/** A store taken under lease; `claimedAt` is the database's clock at the claim. */
export interface ClaimedStore {
  store: StoreRecord;
  claimedAt: number;
}

/** What the orphan sweep compares with the namespaces in the cluster. */
export interface StoreNamespaceRecord {
  id: string;
  namespace: string;
  status: StoreStatus;
  step: StoreStep | null;
  generation: number;
}

/** Stores that count against the per-user and per-owner limits. */
const ACTIVE_STATUSES: StoreStatus[] = [
  'Provisioning',
  'Ready',
  'Degraded',
  'Updating',
  'Restoring',
  'Failed',
];

/**
 * The statuses the reconcile loop works on: provisioning, updates, restores and deletion, and the periodic
 * checks of Ready and Degraded stores (due at their next check time like any other work).
 */
const RECONCILED_STATUSES: StoreStatus[] = [
  'Provisioning',
  'Ready',
  'Degraded',
  'Updating',
  'Restoring',
  'Deleting',
];

export interface StoreRepositoryOptions {
  /**
   * Test seam: shifts the database clock that leases, due times and step timers read, so
   * tests can let minutes pass at once. Zero in production.
   */
  clockShiftMs?: () => number;
}

const columns: Record<keyof StoreRecord, string> = {
  id: 'id',
  name: 'name',
  displayName: 'display_name',
  description: 'description',
  owner: 'owner',
  createdBy: 'created_by',
  engine: 'engine',
  plan: 'plan',
  desiredState: 'desired_state',
  status: 'status',
  step: 'step',
  namespace: 'namespace',
  storefrontUrl: 'storefront_url',
  adminUrl: 'admin_url',
  generation: 'generation',
  attempts: 'attempts',
  nextAttemptAt: 'next_attempt_at',
  stepStartedAt: 'step_started_at',
  lastError: 'last_error',
  leaseHolder: 'lease_holder',
  leaseExpiresAt: 'lease_expires_at',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  readyAt: 'ready_at',
  reachedClusterAt: 'reached_cluster_at',
  chartVersion: 'chart_version',
  helmRevision: 'helm_revision',
  appliedPlan: 'applied_plan',
  observedGeneration: 'observed_generation',
  domain: 'domain',
  appliedDomain: 'applied_domain',
  domainStatus: 'domain_status',
  domainCheckedAt: 'domain_checked_at',
  domainMessage: 'domain_message',
};

function toRow(values: Partial<StoreRecord>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined) row[columns[key as keyof StoreRecord]] = value;
  }
  return row;
}

/** The fields a store's API view shows (`toStoreView`): all that a list of stores reads. */
const viewFields = [
  'id',
  'name',
  'displayName',
  'description',
  'owner',
  'createdBy',
  'engine',
  'plan',
  'status',
  'step',
  'namespace',
  'storefrontUrl',
  'adminUrl',
  'attempts',
  'nextAttemptAt',
  'lastError',
  'createdAt',
  'updatedAt',
  'readyAt',
  'chartVersion',
  'helmRevision',
] as const satisfies readonly (keyof StoreRecord)[];

/** A store as lists read it: what its API view shows, no lease, release or domain state. */
export type StoreViewRecord = Pick<StoreRecord, (typeof viewFields)[number]>;

const viewColumns = viewFields.map(field => columns[field]);

function fromViewRow(row: any): StoreViewRecord {
  return {
    id: row.id,
    name: row.name,
    displayName: row.display_name ?? null,
    description: row.description ?? null,
    owner: row.owner,
    createdBy: row.created_by,
    engine: row.engine,
    plan: row.plan,
    status: row.status,
    step: row.step ?? null,
    namespace: row.namespace,
    storefrontUrl: row.storefront_url ?? null,
    adminUrl: row.admin_url ?? null,
    attempts: Number(row.attempts),
    nextAttemptAt: Number(row.next_attempt_at),
    lastError: row.last_error ?? null,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    readyAt: toNumber(row.ready_at),
    chartVersion: row.chart_version ?? null,
    helmRevision: toNumber(row.helm_revision),
  };
}

function fromRow(row: any): StoreRecord {
  return {
    ...fromViewRow(row),
    desiredState: row.desired_state,
    generation: Number(row.generation),
    stepStartedAt: Number(row.step_started_at),
    leaseHolder: row.lease_holder ?? null,
    leaseExpiresAt: toNumber(row.lease_expires_at),
    reachedClusterAt: toNumber(row.reached_cluster_at),
    appliedPlan: row.applied_plan ?? null,
    observedGeneration: toNumber(row.observed_generation),
    domain: row.domain ?? null,
    appliedDomain: row.applied_domain ?? null,
    domainStatus: row.domain_status ?? null,
    domainCheckedAt: toNumber(row.domain_checked_at),
    domainMessage: row.domain_message ?? null,
  };
}

function applyAccessFilter(
  query: Knex.QueryBuilder,
  filter: StoreAccessFilter,
): void {
  if ('ownedBy' in filter) {
    const refs = filter.ownedBy.map(ref => ref.toLowerCase());
    query.where(q => q.whereIn('owner', refs).orWhereIn('created_by', refs));
  } else if ('anyOf' in filter) {
    query.where(q => {
      for (const sub of filter.anyOf)
        q.orWhere(inner => applyAccessFilter(inner, sub));
    });
  } else if ('allOf' in filter) {
    query.where(q => {
      for (const sub of filter.allOf)
        q.andWhere(inner => applyAccessFilter(inner, sub));
    });
  } else {
    query.whereNot(q => applyAccessFilter(q, filter.not));
  }
}

/**
 * All SQL of the stores plugin.
 *
 * Leases, due times and step timers use the database's clock (PostgreSQL `clock_timestamp()`,
 * SQLite `julianday('now')`, which is the clock of the one process that opens the file), so a
 * replica whose own clock is off neither steals live leases nor skips backoffs.
 */
export class StoreRepository {
  private readonly clockShiftMs: () => number;

  private readonly counts: StoreCounts;

  constructor(private readonly db: Knex, options: StoreRepositoryOptions = {}) {
    this.clockShiftMs = options.clockShiftMs ?? (() => 0);
    this.counts = new StoreCounts(db);
  }

  /** Folds the store count changes the database appended into its totals (a scheduled task). */
  foldStoreCounts(): Promise<void> {
    return this.counts.fold();
  }

  /** The database's clock in epoch milliseconds, as an SQL expression. */
  private clock(): Knex.Raw {
    return databaseClock(this.db, this.clockShiftMs());
  }

  /** The database's clock now, in epoch milliseconds. */
  async databaseNow(): Promise<number> {
    const row = await this.db
      .select(this.db.raw('? as now', [this.clock()]))
      .first();
    return Number(row.now);
  }

  /**
   * Inserts a new store with its first event and a create-rate record, in one transaction.
   * `checkUsage` sees the requester's and owner's current usage inside that transaction and
   * may throw to refuse the create. On PostgreSQL, advisory locks on the requester and the
   * owner serialize concurrent creates (from any replica), so limits cannot be overrun by a
   * burst; SQLite serializes write transactions by itself.
   */
  async insertStore(
    store: StoreRecord,
    event: NewStoreEvent,
    options: {
      rateLimitUser: string;
      rateWindowStart: number;
      checkUsage?: (usage: CreateUsage) => void;
    },
  ): Promise<void> {
    await this.db.transaction(async tx => {
      if (tx.client.config.client === 'pg') {
        for (const key of [options.rateLimitUser, store.owner].sort()) {
          await tx.raw('select pg_advisory_xact_lock(hashtext(?))', [
            `storeplane:${key}`,
          ]);
        }
      }
      options.checkUsage?.({
        recentCreates: await this.createRequestsSince(
          options.rateLimitUser,
          options.rateWindowStart,
          tx,
        ),
        activeByUser: await this.countActiveStores(
          { createdBy: store.createdBy },
          tx,
        ),
        activeByOwner: await this.countActiveStores({ owner: store.owner }, tx),
      });
      await tx('stores').insert({
        ...toRow(store),
        next_attempt_at: this.clock(),
        step_started_at: this.clock(),
      });
      await tx('store_events').insert(
        this.eventRow(store.id, event, store.createdAt),
      );
      await tx('store_create_requests').insert({
        user_ref: options.rateLimitUser,
        created_at: store.createdAt,
      });
    });
  }

  async getStore(id: string): Promise<StoreRecord | undefined> {
    const row = await this.db('stores').where({ id }).first();
    return row ? fromRow(row) : undefined;
  }

  /**
   * A page of stores, newest first, read in the order of the list indexes, with the columns
   * its API view shows. The count stops `COUNTED_PAST_OFFSET` rows past the page's offset so
   * no page counts every store; it rides in the page's own statement (an uncorrelated
   * subquery, run once), so a page is one round trip. One row past the page tells whether
   * another follows.
   */
  async listStores(filter: ListStoresFilter): Promise<StorePage> {
    const base = this.db('stores');
    if (filter.owner) base.where('owner', filter.owner);
    if (filter.status) base.where('status', filter.status);
    if (filter.ids) base.whereIn('id', filter.ids);
    if (filter.access) applyAccessFilter(base, filter.access);
    const { after } = filter;
    if (after)
      whereAfterPosition(base, 'created_at', 'desc', {
        value: after.createdAt,
        id: after.id,
      });
    const inListOrder = (query: Knex.QueryBuilder) =>
      query.orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'asc' },
      ]);
    // Matches past the offset, one more than are counted to tell a capped count. Unordered, so
    // PostgreSQL may read the first matches in the table's order (ordered like the page, it
    // walked the list index and fetched each row: twice the page's time before ANALYZE).
    const countPastOffset = base
      .clone()
      .select(this.db.raw('1'))
      .offset(filter.offset)
      .limit(COUNTED_PAST_OFFSET + 1);
    const rows = await inListOrder(
      base
        .clone()
        .select(viewColumns)
        .select(
          this.db
            .from(countPastOffset.as('matches'))
            .count({ count: '*' })
            .as('counted_past_offset'),
        ),
    )
      .offset(filter.offset)
      .limit(filter.limit + 1);
    const items = rows.slice(0, filter.limit).map(fromViewRow);
    const last = items[items.length - 1];
    const next =
      rows.length > filter.limit
        ? { createdAt: last.createdAt, id: last.id }
        : undefined;
    let pastOffset: number;
    if (rows.length > 0) pastOffset = Number(rows[0].counted_past_offset);
    else if (filter.offset === 0) pastOffset = 0;
    else {
      // An offset past the last match: the total is below the offset, counted on its own.
      const [{ count }] = await this.db
        .from(
          base
            .clone()
            .select(this.db.raw('1'))
            .limit(filter.offset)
            .as('matches'),
        )
        .count({ count: '*' });
      return {
        items,
        totalCount: Number(count),
        totalCountCapped: false,
      };
    }
    return {
      items,
      totalCount: filter.offset + Math.min(pastOffset, COUNTED_PAST_OFFSET),
      totalCountCapped: pastOffset > COUNTED_PAST_OFFSET,
      next,
    };
  }

  /**
   * How many stores there are per owner, engine and plan among every store the filter selects
   * (no page: the Stores page's per-owner cost totals cover all of them).
   */
  async countStoresByOwnerAndPlan(
    filter: Pick<ListStoresFilter, 'owner' | 'status' | 'access'>,
  ): Promise<StorePlanCount[]> {
    // Without an access condition the totals the database keeps answer (few rows per owner);
    // a policy's condition names columns they do not keep, so those stores are counted here.
    if (!filter.access)
      return this.counts.countByOwnerAndPlan({
        owner: filter.owner,
        status: filter.status,
      });
    const query = this.db('stores');
    if (filter.owner) query.where('owner', filter.owner);
    if (filter.status) query.where('status', filter.status);
    applyAccessFilter(query, filter.access);
    const rows = (await query
      .select('owner', 'engine', 'plan')
      .count({ count: '*' })
      .groupBy('owner', 'engine', 'plan')
      .orderBy(['owner', 'engine', 'plan'])) as Array<
      Omit<StorePlanCount, 'count'> & { count: string | number }
    >;
    // PostgreSQL returns count(*) as a string (bigint).
    return rows.map(row => ({ ...row, count: Number(row.count) }));
  }

  async countActiveStores(
    by: { createdBy?: string; owner?: string },
    db: Knex = this.db,
  ): Promise<number> {
    const query = db('stores').whereIn('status', ACTIVE_STATUSES);
    if (by.createdBy) query.where('created_by', by.createdBy);
    if (by.owner) query.where('owner', by.owner);
    const [{ count }] = await query.count({ count: '*' });
    return Number(count);
  }

  /** Accepted creates of a user since a time, oldest first (for Retry-After). */
  async createRequestsSince(
    userRef: string,
    since: number,
    db: Knex = this.db,
  ): Promise<number[]> {
    const rows = await db('store_create_requests')
      .where('user_ref', userRef)
      .andWhere('created_at', '>=', since)
      .orderBy('created_at', 'asc')
      .select('created_at');
    return rows.map(row => Number(row.created_at));
  }

  async pruneCreateRequests(before: number): Promise<void> {
    await this.db('store_create_requests')
      .where('created_at', '<', before)
      .delete();
  }

  /** Stores with work due and no live lease, soonest first. */
  async findDueStores(limit: number): Promise<DueStore[]> {
    const rows = await this.whereDue(this.db('stores'))
      .orderBy('next_attempt_at', 'asc')
      .limit(limit)
      .select('id', 'generation');
    return rows.map((row: { id: string; generation: number | string }) => ({
      id: row.id,
      generation: Number(row.generation),
    }));
  }

  /**
   * When the next store without a live lease becomes due, with the database's clock now, for
   * the loop's wake-up timer. One ordered `limit 1` per status, so each is a short walk of
   * `stores_due_idx` (status, next_attempt_at) that stops at the first store nobody holds,
   * rather than a scan of every Ready store.
   */
  async nextDueTime(): Promise<{ nextDueAt: number | undefined; now: number }> {
    const earliest = Object.fromEntries(
      RECONCILED_STATUSES.map(status => [
        `due_${status}`,
        this.whereLeaseFree(this.db('stores').where('status', status))
          .orderBy('next_attempt_at', 'asc')
          .limit(1)
          .select('next_attempt_at'),
      ]),
    );
    const row: Record<string, unknown> = await this.db
      .select(earliest)
      .select(this.db.raw('? as now', [this.clock()]))
      .first();
    const times = RECONCILED_STATUSES.map(status =>
      toNumber(row[`due_${status}`]),
    ).filter((time): time is number => time !== null);
    return {
      nextDueAt: times.length > 0 ? Math.min(...times) : undefined,
      now: Number(row.now),
    };
  }

  /**
   * Something a store waits for changed in the cluster (a watch saw it): the store is due now,
   * for whichever replica claims it first, if it is at one of `steps` (null: a Ready or Degraded
   * store's checks), so a change that only another step cares about costs no claim. Only a
   * store whose next look is later is touched, so repeating it (every replica watches) changes
   * nothing; Failed stores are left alone. A store held by a claim keeps its lease: the claim's
   * own next look wins, and the replica holding it marks it again once released
   * (ReconcileLoop.storeChanged). False when nothing changed.
   */
  async markStoreDue(
    id: string,
    steps: ReadonlyArray<StoreStep | null>,
  ): Promise<boolean> {
    const named = steps.filter((step): step is StoreStep => step !== null);
    const updated = await this.db('stores')
      .where({ id })
      .whereIn('status', RECONCILED_STATUSES)
      .andWhere(q => {
        q.whereIn('step', named);
        if (steps.includes(null)) q.orWhereNull('step');
      })
      .andWhere('next_attempt_at', '>', this.clock())
      .update({ next_attempt_at: this.clock() });
    return updated === 1;
  }

  private whereDue(query: Knex.QueryBuilder): Knex.QueryBuilder {
    return this.whereLeaseFree(
      query
        .whereIn('status', RECONCILED_STATUSES)
        .andWhere('next_attempt_at', '<=', this.clock()),
    );
  }

  private whereLeaseFree(query: Knex.QueryBuilder): Knex.QueryBuilder {
    return query.andWhere(q =>
      q
        .whereNull('lease_expires_at')
        .orWhere('lease_expires_at', '<', this.clock()),
    );
  }

  /**
   * Takes the lease on a store with one conditional UPDATE that re-checks everything the due
   * query saw (status, next attempt time, generation, no live lease), so exactly one claimer
   * wins, and nobody runs a store that just failed, is backing off, or changed meanwhile.
   */
  async claimStore(
    due: DueStore,
    token: string,
    leaseMs: number,
  ): Promise<ClaimedStore | undefined> {
    return this.leaseOne(
      this.whereDue(
        this.db('stores').where({ id: due.id, generation: due.generation }),
      ),
      token,
      leaseMs,
    );
  }

  /**
   * Takes the lease on the oldest due store nobody holds, in one statement, so that replicas and
   * workers claiming at once each get a different store instead of racing for the same one: on
   * PostgreSQL the row is picked `for update skip locked` (a row another claim is taking is
   * passed over) and the UPDATE re-checks that it is still due; SQLite runs writes one at a
   * time. Undefined when no store is due.
   */
  async claimNextDueStore(
    token: string,
    leaseMs: number,
  ): Promise<ClaimedStore | undefined> {
    const next = this.whereDue(this.db('stores'))
      .orderBy('next_attempt_at', 'asc')
      .limit(1)
      .select('id');
    if (this.db.client.config.client === 'pg') next.forUpdate().skipLocked();
    // A CTE, evaluated once: as a plain subquery PostgreSQL re-runs it for every row the
    // UPDATE scans (the clock is volatile), so one claim would take every due store.
    return this.leaseOne(
      this.whereDue(
        this.db('stores')
          .with('next_due', next)
          .whereIn('id', this.db('next_due').select('id')),
      ),
      token,
      leaseMs,
    );
  }

  /** Leases the store `query` selects to `token`, when it selects exactly one. */
  private async leaseOne(
    query: Knex.QueryBuilder,
    token: string,
    leaseMs: number,
  ): Promise<ClaimedStore | undefined> {
    const rows = await query
      .update({
        lease_holder: token,
        lease_expires_at: this.db.raw('? + ?', [this.clock(), leaseMs]),
      })
      .returning('*');
    if (rows.length !== 1) return undefined;
    const store = fromRow(rows[0]);
    return { store, claimedAt: store.leaseExpiresAt! - leaseMs };
  }

  /** Whether a store nobody holds is due now. */
  async hasDueStore(): Promise<boolean> {
    const row = await this.whereDue(this.db('stores')).select('id').first();
    return row !== undefined;
  }

  /**
   * Extends a held lease from the database's clock now. False when the holder lost it: the
   * lease was taken over after it expired, released, or a user changed the store (generation).
   */
  async renewLease(
    id: string,
    token: string,
    generation: number,
    leaseMs: number,
  ): Promise<boolean> {
    const updated = await this.db('stores')
      .where({ id, lease_holder: token, generation })
      .update({
        lease_expires_at: this.db.raw('? + ?', [this.clock(), leaseMs]),
      });
    return updated === 1;
  }

  /**
   * Gives the lease up; returns the database's clock at the release. With `unfinished`: a store
   * whose claim ended without scheduling its next look (its next attempt time and generation
   * are still what the claim saw, so the reconciler failed unexpectedly) is put off by
   * `retryInMs`, so that a loop claiming due stores back to back does not claim it again at
   * once, forever.
   */
  async releaseStore(
    id: string,
    token: string,
    unfinished?: UnfinishedClaim,
  ): Promise<number> {
    const update: Record<string, unknown> = {
      lease_holder: null,
      lease_expires_at: null,
    };
    if (unfinished)
      update.next_attempt_at = this.db.raw(
        'case when next_attempt_at = ? and generation = ? then ? + ? else next_attempt_at end',
        [
          unfinished.nextAttemptAt,
          unfinished.generation,
          this.clock(),
          Math.round(unfinished.retryInMs),
        ],
      );
    // The clock is read by the UPDATE itself: one statement per release, not two.
    const [released] = await this.db('stores')
      .where({ id, lease_holder: token })
      .update(update)
      .returning(this.db.raw('? as released_at', [this.clock()]));
    return released ? Number(released.released_at) : this.databaseNow();
  }

  /**
   * Writes the reconciler's result, only while the caller still holds the lease and no user
   * changed the store meanwhile (generation), so a stale worker never overwrites a newer intent.
   */
  async updateClaimedStore(
    id: string,
    token: string,
    generation: number,
    update: ClaimedStoreUpdate,
  ): Promise<boolean> {
    const {
      nextAttemptInMs,
      startStep,
      markReady,
      markReachedCluster,
      markDomainChecked,
      ...fields
    } = update;
    const row: Record<string, unknown> = toRow(fields);
    // A pass that only schedules the next look (a passing check of a Ready store) changes
    // nothing a reader sees, so the store does not count as updated.
    if (Object.keys(row).length > 0 || startStep || markReady)
      row.updated_at = this.clock();
    if (nextAttemptInMs !== undefined)
      row.next_attempt_at = this.db.raw('? + ?', [
        this.clock(),
        Math.round(nextAttemptInMs),
      ]);
    if (startStep) row.step_started_at = this.clock();
    if (markReady) row.ready_at = this.clock();
    if (markReachedCluster) row.reached_cluster_at = this.clock();
    if (markDomainChecked !== undefined)
      row.domain_checked_at = markDomainChecked ? this.clock() : null;
    const updated = await this.db('stores')
      .where({ id, lease_holder: token, generation })
      .update(row);
    return updated === 1;
  }

  /**
   * Removes a deleted store. Its events stay for the audit period, and so do its owner and
   * creator (`deleted_stores`), in the same transaction, so its events stay readable to them.
   */
  async deleteClaimedStore(
    id: string,
    token: string,
    generation: number,
  ): Promise<boolean> {
    return this.db.transaction(async tx => {
      const row = await tx('stores')
        .where({ id, lease_holder: token, generation })
        .first('owner', 'created_by');
      if (!row) return false;
      await tx('deleted_stores')
        .insert({
          id,
          owner: row.owner,
          created_by: row.created_by,
          deleted_at: this.clock(),
        })
        .onConflict('id')
        .merge();
      await tx('store_backups').where('store_id', id).delete();
      await tx('store_restores').where('store_id', id).delete();
      const deleted = await tx('stores')
        .where({ id, lease_holder: token, generation })
        .delete();
      return deleted === 1;
    });
  }

  /**
   * Stores created or changed at or after `since`, oldest change first, in the order of
   * `stores_updated_idx (updated_at, id)`, so a look for the last minute's changes reads only
   * them (ordered by creation, SQLite without statistics walks every store instead).
   */
  async listChangedStores(filter: {
    since: number;
    after?: StoreChangePosition;
    access?: StoreAccessFilter;
    limit: number;
  }): Promise<ChangedStorePage> {
    const query = this.db('stores').where('updated_at', '>=', filter.since);
    if (filter.access) applyAccessFilter(query, filter.access);
    const { after } = filter;
    return readKeysetPage(
      query,
      {
        column: 'updated_at',
        order: 'asc',
        after: after && { value: after.updatedAt, id: after.id },
        limit: filter.limit,
        select: viewColumns,
      },
      fromViewRow,
      last => ({ updatedAt: last.updatedAt, id: last.id }),
    );
  }

  /**
   * Stores removed at or after `since`, oldest removal first, from `deleted_stores_deleted_idx`;
   * `access` filters on the kept owner and creator like the list's.
   */
  async listDeletedStores(filter: {
    since: number;
    after?: DeletedStorePosition;
    access?: StoreAccessFilter;
    limit: number;
  }): Promise<DeletedStorePage> {
    const query = this.db('deleted_stores').where(
      'deleted_at',
      '>=',
      filter.since,
    );
    if (filter.access) applyAccessFilter(query, filter.access);
    const { after } = filter;
    return readKeysetPage(
      query,
      {
        column: 'deleted_at',
        order: 'asc',
        after: after && { value: after.deletedAt, id: after.id },
        limit: filter.limit,
        select: ['id', 'deleted_at'],
      },
      row => ({ id: row.id as string, deletedAt: Number(row.deleted_at) }),
      last => last,
    );
  }

  /** Owner and creator of a store, live or deleted within the audit period. */
  async getStoreOwnership(id: string): Promise<StoreOwnership | undefined> {
    const live = await this.db('stores')
      .where({ id })
      .first('id', 'owner', 'created_by');
    const row = live ?? (await this.db('deleted_stores').where({ id }).first());
    return row
      ? { id: row.id, owner: row.owner, createdBy: row.created_by }
      : undefined;
  }

  /** Every store that should have a namespace, for the orphan sweep. */
  async listStoreNamespaces(): Promise<StoreNamespaceRecord[]> {
    const rows = await this.db('stores').select(
      'id',
      'namespace',
      'status',
      'step',
      'generation',
    );
    return rows.map(row => ({
      id: row.id,
      namespace: row.namespace,
      status: row.status,
      step: row.step ?? null,
      generation: Number(row.generation),
    }));
  }

  /**
   * Moves a store whose namespace vanished (deleted outside Storeplane) on: back to the first
   * step, as `status` says, when nobody holds it and nobody changed it since it was read.
   */
  async resetVanishedStore(
    store: Pick<StoreNamespaceRecord, 'id' | 'generation' | 'status'>,
    outcome: { status: 'Provisioning' | 'Failed'; lastError: string | null },
  ): Promise<boolean> {
    const updated = await this.db('stores')
      .where({
        id: store.id,
        generation: store.generation,
        status: store.status,
      })
      .andWhere(q =>
        q
          .whereNull('lease_expires_at')
          .orWhere('lease_expires_at', '<', this.clock()),
      )
      .update({
        ...newStoreGeneration(this.db, this.clock()),
        status: outcome.status,
        step: 'guardrails',
        last_error: outcome.lastError,
        storefront_url: null,
        admin_url: null,
      });
    return updated === 1;
  }

  async requestDeletion(
    id: string,
    now: number,
  ): Promise<StoreRecord | undefined> {
    await this.db('stores')
      .where({ id })
      .whereNot('status', 'Deleting')
      .update({
        ...newStoreGeneration(this.db, this.clock(), now),
        desired_state: 'absent',
        status: 'Deleting',
        step: 'helmUninstall',
        storefront_url: null,
        admin_url: null,
      });
    return this.getStore(id);
  }

  /**
   * Renames a store that is not being deleted, with its event, in one transaction. The name
   * changes nothing in the cluster, so the generation stays and a claim at work goes on.
   */
  async renameStore(
    id: string,
    displayName: string,
    event: NewStoreEvent,
  ): Promise<boolean> {
    return this.db.transaction(async tx => {
      const updated = await tx('stores')
        .where({ id })
        .whereNot('status', 'Deleting')
        .update({ display_name: displayName, updated_at: this.clock() });
      if (updated !== 1) return false;
      await tx('store_events').insert(this.eventRow(id, event, this.clock()));
      return true;
    });
  }

  /**
   * Records an owner's new intent for a Ready or Degraded store (a plan, or only a chart
   * upgrade) with its event: the store becomes Updating at its first gate with a new
   * generation, due now. False when the store is not Ready or Degraded any more, or changed
   * since `seen` was read.
   */
  async requestUpdate(
    seen: Pick<StoreRecord, 'id' | 'generation'>,
    change: { plan?: string },
    event: NewStoreEvent,
  ): Promise<boolean> {
    return this.db.transaction(async tx => {
      const updated = await tx('stores')
        .where({ id: seen.id, generation: seen.generation })
        .whereIn('status', ['Ready', 'Degraded'])
        .update({
          ...newStoreGeneration(this.db, this.clock()),
          ...(change.plan ? { plan: change.plan } : {}),
          status: 'Updating',
          step: 'guardrails',
        });
      if (updated !== 1) return false;
      await tx('store_events').insert(
        this.eventRow(seen.id, event, this.clock()),
      );
      return true;
    });
  }

  /**
   * Records a new custom domain (or none) for a Ready or Degraded store with its event, like
   * `requestUpdate`: the store becomes Updating, so a Helm upgrade puts the domain on its
   * Ingress. 'taken' when another store asks for or serves the domain (the unique index on
   * `domain` settles two requests racing for it); 'changed' when the store is not Ready or
   * Degraded any more, or changed since `seen` was read.
   */
  async requestDomainChange(
    seen: Pick<StoreRecord, 'id' | 'generation'>,
    domain: string | null,
    message: string | null,
    event: NewStoreEvent,
  ): Promise<'requested' | 'taken' | 'changed'> {
    try {
      return await this.db.transaction(async tx => {
        if (domain !== null) {
          const holder = await tx('stores')
            .whereNot('id', seen.id)
            .andWhere(q =>
              q.where('domain', domain).orWhere('applied_domain', domain),
            )
            .first('id');
          if (holder) return 'taken';
        }
        const updated = await tx('stores')
          .where({ id: seen.id, generation: seen.generation })
          .whereIn('status', ['Ready', 'Degraded'])
          .update({
            domain,
            domain_status: null,
            domain_checked_at: null,
            domain_message: message,
            ...newStoreGeneration(this.db, this.clock()),
            status: 'Updating',
            step: 'guardrails',
          });
        if (updated !== 1) return 'changed';
        await tx('store_events').insert(
          this.eventRow(seen.id, event, this.clock()),
        );
        return 'requested';
      });
    } catch (error) {
      if (domain !== null && isUniqueViolation(error)) return 'taken';
      throw error;
    }
  }

  /** Puts a Failed store back to Provisioning at the step that failed. */
  async requestRetry(id: string, now: number): Promise<boolean> {
    const updated = await this.db('stores')
      .where({ id, status: 'Failed' })
      .update({
        ...newStoreGeneration(this.db, this.clock(), now),
        status: 'Provisioning',
      });
    return updated === 1;
  }

  /** Records an event; its time is the database's clock unless given. */
  async addEvent(
    storeId: string,
    event: NewStoreEvent,
    now?: number,
  ): Promise<void> {
    await this.db('store_events').insert(
      this.eventRow(storeId, event, now ?? this.clock()),
    );
  }

  /** A store's latest events, newest first. */
  async listEvents(
    storeId: string,
    limit: number,
  ): Promise<StoreEventRecord[]> {
    return (await this.listEventPage(storeId, { limit })).items;
  }

  /** A page of a store's events newest first, from `store_events_store_idx` (store_id, id). */
  async listEventPage(
    storeId: string,
    page: { limit: number; beforeId?: number },
  ): Promise<StoreEventPage> {
    const query = this.db('store_events').where('store_id', storeId);
    if (page.beforeId !== undefined) query.andWhere('id', '<', page.beforeId);
    const rows = await query.orderBy('id', 'desc').limit(page.limit + 1);
    const items: StoreEventRecord[] = rows.slice(0, page.limit).map(row => ({
      id: Number(row.id),
      storeId: row.store_id,
      createdAt: Number(row.created_at),
      type: row.type,
      level: row.level,
      message: row.message,
      actor: row.actor ?? null,
    }));
    return {
      items,
      nextBeforeId:
        rows.length > page.limit ? items[items.length - 1].id : undefined,
    };
  }

  /** Deletes events and ownership records of removed stores older than the audit period. */
  async purgeEventsOfDeletedStores(before: number): Promise<number> {
    const purged = await this.db('store_events')
      .where('created_at', '<', before)
      .whereNotIn('store_id', this.db('stores').select('id'))
      .delete();
    await this.db('deleted_stores').where('deleted_at', '<', before).delete();
    return purged;
  }

  async countByStatus(): Promise<Record<string, number>> {
    const rows: Array<{ status: string; count: string | number }> =
      await this.db('stores')
        .select('status')
        .count({ count: '*' })
        .groupBy('status');
    return Object.fromEntries(rows.map(row => [row.status, Number(row.count)]));
  }

  private eventRow(
    storeId: string,
    event: NewStoreEvent,
    now: number | Knex.Raw,
  ) {
    return {
      store_id: storeId,
      created_at: now,
      type: event.type,
      level: event.level,
      message: event.message,
      actor: event.actor ?? null,
    };
  }
}

/** SQLite and PostgreSQL say a unique index refused a row in their own words. */
function isUniqueViolation(error: unknown): boolean {
  const { code, message } = error as { code?: string; message?: string };
  return (
    code === '23505' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    /UNIQUE constraint failed/.test(message ?? '')
  );
}
