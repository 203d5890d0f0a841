import { Knex } from 'knex';
import {
  RolloutStatus,
  StoreEventLevel,
} from '@storeplane/plugin-stores-common';
import { readKeysetPage } from './afterPosition';
import { databaseClock } from './databaseClock';
import { toNumber } from './columnValues';

export type { RolloutStatus };

export type RolloutItemResult =
  | 'pending'
  | 'upgrading'
  | 'succeeded'
  | 'failed'
  | 'skipped';

/** One row of `store_rollouts`, with times as epoch milliseconds. */
export interface RolloutRecord {
  id: string;
  status: RolloutStatus;
  /** The engine whose stores move; its chart is the one upgraded. */
  engine: string;
  targetChartVersion: string;
  waveSize: number;
  pauseMs: number;
  maxFailures: number;
  /** The wave started last; 0 before the first (the canary). */
  currentWave: number;
  waveCount: number;
  /** When the engine looks again; null when nothing is left to do. */
  nextCheckAt: number | null;
  /** When the next wave may start; null while a wave runs or none finished yet. */
  nextWaveAt: number | null;
  /** Failed stores that a resume of a halted rollout no longer counts against `maxFailures`. */
  failureBaseline: number;
  haltReason: string | null;
  createdBy: string;
  generation: number;
  leaseHolder: string | null;
  leaseExpiresAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** One store of a rollout. */
export interface RolloutItemRecord {
  rolloutId: string;
  storeId: string;
  wave: number;
  result: RolloutItemResult;
  reason: string | null;
  fromChartVersion: string | null;
  /** The store generation its upgrade request makes; set before the request is made. */
  upgradeGeneration: number | null;
  updatedAt: number;
}

export interface RolloutEventRecord {
  id: number;
  rolloutId: string;
  createdAt: number;
  type: string;
  level: StoreEventLevel;
  message: string;
  actor: string | null;
}

export interface NewRolloutEvent {
  type: string;
  level: StoreEventLevel;
  message: string;
  actor?: string | null;
}

/** A store a new rollout may move: present, not being deleted, not on the target yet. */
export interface RolloutCandidate {
  id: string;
  chartVersion: string | null;
}

/** Where a page of the rollout list ends (newest first, then by id). */
export interface RolloutListPosition {
  createdAt: number;
  id: string;
}

export interface RolloutPage {
  items: RolloutRecord[];
  next?: RolloutListPosition;
}

/** What a lease holder may change on the rollout it holds. */
export interface ClaimedRolloutUpdate {
  status?: RolloutStatus;
  currentWave?: number;
  haltReason?: string | null;
  /** Look again this long from now; null: nothing is left to do. */
  nextCheckInMs?: number | null;
  /** The next wave may start this long from now; null clears it. */
  nextWaveInMs?: number | null;
}

/** Rollouts that block a new one: they still own their stores' upgrades. */
export const UNFINISHED_ROLLOUT_STATUSES: RolloutStatus[] = [
  'Pending',
  'Running',
  'Paused',
  'Halted',
];

function rolloutFromRow(row: any): RolloutRecord {
  return {
    id: row.id,
    status: row.status,
    engine: row.engine,
    targetChartVersion: row.target_chart_version,
    waveSize: Number(row.wave_size),
    pauseMs: Number(row.pause_ms),
    maxFailures: Number(row.max_failures),
    currentWave: Number(row.current_wave),
    waveCount: Number(row.wave_count),
    nextCheckAt: toNumber(row.next_check_at),
    nextWaveAt: toNumber(row.next_wave_at),
    failureBaseline: Number(row.failure_baseline),
    haltReason: row.halt_reason ?? null,
    createdBy: row.created_by,
    generation: Number(row.generation),
    leaseHolder: row.lease_holder ?? null,
    leaseExpiresAt: toNumber(row.lease_expires_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function itemFromRow(row: any): RolloutItemRecord {
  return {
    rolloutId: row.rollout_id,
    storeId: row.store_id,
    wave: Number(row.wave),
    result: row.result,
    reason: row.reason ?? null,
    fromChartVersion: row.from_chart_version ?? null,
    upgradeGeneration: toNumber(row.upgrade_generation),
    updatedAt: Number(row.updated_at),
  };
}

/**
 * The SQL of fleet rollouts. Like stores, a rollout is advanced under a lease on the database's
 * clock: a claim is one conditional UPDATE, every write of the holder names its token (and, for
 * decisions an operator command may overrule, the generation the holder saw), so a replica that
 * lost its lease or missed a pause writes nothing.
 */
export class RolloutRepository {
  private readonly clockShiftMs: () => number;

  constructor(
    private readonly db: Knex,
    options: { clockShiftMs?: () => number } = {},
  ) {
    this.clockShiftMs = options.clockShiftMs ?? (() => 0);
  }

  private clock(): Knex.Raw {
    return databaseClock(this.db, this.clockShiftMs());
  }

  private later(ms: number): Knex.Raw {
    return this.db.raw('? + ?', [this.clock(), Math.round(ms)]);
  }

  /** Stores of `engine` a rollout to `target` would move, oldest first (the canary is the oldest). */
  async listCandidates(
    engine: string,
    target: string,
  ): Promise<RolloutCandidate[]> {
    const rows = await this.db('stores')
      .where({ engine, desired_state: 'present' })
      .whereNot('status', 'Deleting')
      .andWhere(q =>
        q.whereNull('chart_version').orWhereNot('chart_version', target),
      )
      .orderBy([
        { column: 'created_at', order: 'asc' },
        { column: 'id', order: 'asc' },
      ])
      .select('id', 'chart_version');
    return rows.map(row => ({
      id: row.id,
      chartVersion: row.chart_version ?? null,
    }));
  }

  /**
   * Inserts a rollout with its stores and first event, unless another rollout is unfinished
   * (then returns that one's id). On PostgreSQL an advisory lock serializes creates from every
   * replica; SQLite serializes write transactions by itself.
   */
  async insertRollout(
    rollout: Omit<
      RolloutRecord,
      | 'nextCheckAt'
      | 'nextWaveAt'
      | 'leaseHolder'
      | 'leaseExpiresAt'
      | 'createdAt'
      | 'updatedAt'
      | 'generation'
      | 'currentWave'
      | 'failureBaseline'
      | 'haltReason'
    >,
    items: Array<Pick<RolloutItemRecord, 'storeId' | 'wave'>>,
    event: NewRolloutEvent,
  ): Promise<{ inserted: true } | { inserted: false; unfinishedId: string }> {
    return this.db.transaction(async tx => {
      if (tx.client.config.client === 'pg')
        await tx.raw('select pg_advisory_xact_lock(hashtext(?))', [
          'storeplane:rollouts',
        ]);
      const unfinished = await tx('store_rollouts')
        .whereIn('status', UNFINISHED_ROLLOUT_STATUSES)
        .first('id');
      if (unfinished) return { inserted: false, unfinishedId: unfinished.id };
      await tx('store_rollouts').insert({
        id: rollout.id,
        status: rollout.status,
        engine: rollout.engine,
        target_chart_version: rollout.targetChartVersion,
        wave_size: rollout.waveSize,
        pause_ms: rollout.pauseMs,
        max_failures: rollout.maxFailures,
        wave_count: rollout.waveCount,
        created_by: rollout.createdBy,
        next_check_at: this.clock(),
        created_at: this.clock(),
        updated_at: this.clock(),
      });
      // Chunks keep every insert under SQLite's bound-parameter limit.
      for (let i = 0; i < items.length; i += 100) {
        await tx('store_rollout_items').insert(
          items.slice(i, i + 100).map(item => ({
            rollout_id: rollout.id,
            store_id: item.storeId,
            wave: item.wave,
            result: 'pending',
            updated_at: this.clock(),
          })),
        );
      }
      await tx('store_rollout_events').insert(this.eventRow(rollout.id, event));
      return { inserted: true };
    });
  }

  async getRollout(id: string): Promise<RolloutRecord | undefined> {
    const row = await this.db('store_rollouts').where({ id }).first();
    return row ? rolloutFromRow(row) : undefined;
  }

  /** A page of rollouts, newest first. */
  async listRollouts(page: {
    after?: RolloutListPosition;
    limit: number;
  }): Promise<RolloutPage> {
    const { after } = page;
    return readKeysetPage(
      this.db('store_rollouts'),
      {
        column: 'created_at',
        order: 'desc',
        after: after && { value: after.createdAt, id: after.id },
        limit: page.limit,
      },
      rolloutFromRow,
      last => ({ createdAt: last.createdAt, id: last.id }),
    );
  }

  async listItems(rolloutId: string): Promise<RolloutItemRecord[]> {
    const rows = await this.db('store_rollout_items')
      .where('rollout_id', rolloutId)
      .orderBy([
        { column: 'wave', order: 'asc' },
        { column: 'store_id', order: 'asc' },
      ]);
    return rows.map(itemFromRow);
  }

  /** A rollout's latest events, newest first. */
  async listEvents(
    rolloutId: string,
    limit: number,
  ): Promise<RolloutEventRecord[]> {
    const rows = await this.db('store_rollout_events')
      .where('rollout_id', rolloutId)
      .orderBy('id', 'desc')
      .limit(limit);
    return rows.map(row => ({
      id: Number(row.id),
      rolloutId: row.rollout_id,
      createdAt: Number(row.created_at),
      type: row.type,
      level: row.level,
      message: row.message,
      actor: row.actor ?? null,
    }));
  }

  async addEvent(rolloutId: string, event: NewRolloutEvent): Promise<void> {
    await this.db('store_rollout_events').insert(
      this.eventRow(rolloutId, event),
    );
  }

  /** Ids of rollouts whose next look is due and that nobody holds, the longest due first. */
  async listDueRollouts(limit: number): Promise<string[]> {
    const rows = await this.whereDue(this.db('store_rollouts'))
      .orderBy('next_check_at', 'asc')
      .limit(limit)
      .select('id');
    return rows.map((row: { id: string }) => row.id);
  }

  /**
   * Takes the lease on a due rollout with one conditional UPDATE that re-checks it is due and
   * free, so exactly one claimer wins; an expired lease (its holder died) is taken over.
   */
  async claimRollout(
    id: string,
    token: string,
    leaseMs: number,
  ): Promise<RolloutRecord | undefined> {
    const rows = await this.whereDue(this.db('store_rollouts').where({ id }))
      .update({ lease_holder: token, lease_expires_at: this.later(leaseMs) })
      .returning('*');
    return rows.length === 1 ? rolloutFromRow(rows[0]) : undefined;
  }

  private whereDue(query: Knex.QueryBuilder): Knex.QueryBuilder {
    return query
      .whereNotNull('next_check_at')
      .andWhere('next_check_at', '<=', this.clock())
      .andWhere(q =>
        q
          .whereNull('lease_expires_at')
          .orWhere('lease_expires_at', '<', this.clock()),
      );
  }

  /**
   * Extends a held lease; false when the holder lost it, or (with `generation`) an operator
   * paused, resumed or aborted the rollout since the holder read it.
   */
  async renewLease(
    id: string,
    token: string,
    leaseMs: number,
    generation?: number,
  ): Promise<boolean> {
    const updated = await this.db('store_rollouts')
      .where({
        id,
        lease_holder: token,
        ...(generation === undefined ? {} : { generation }),
      })
      .update({ lease_expires_at: this.later(leaseMs) });
    return updated === 1;
  }

  /** Writes the holder's decision; `generation` fences decisions an operator command overrules. */
  async updateClaimedRollout(
    id: string,
    token: string,
    generation: number | undefined,
    update: ClaimedRolloutUpdate,
  ): Promise<boolean> {
    const row: Record<string, unknown> = { updated_at: this.clock() };
    if (update.status !== undefined) row.status = update.status;
    if (update.currentWave !== undefined) row.current_wave = update.currentWave;
    if (update.haltReason !== undefined) row.halt_reason = update.haltReason;
    if (update.nextCheckInMs !== undefined)
      row.next_check_at =
        update.nextCheckInMs === null ? null : this.later(update.nextCheckInMs);
    if (update.nextWaveInMs !== undefined)
      row.next_wave_at =
        update.nextWaveInMs === null ? null : this.later(update.nextWaveInMs);
    const updated = await this.db('store_rollouts')
      .where({
        id,
        lease_holder: token,
        ...(generation === undefined ? {} : { generation }),
      })
      .update(row);
    return updated === 1;
  }

  async releaseRollout(id: string, token: string): Promise<void> {
    await this.db('store_rollouts')
      .where({ id, lease_holder: token })
      .update({ lease_holder: null, lease_expires_at: null });
  }

  /** Writes one store's progress, only while `token` holds the rollout. */
  async updateClaimedItem(
    rolloutId: string,
    storeId: string,
    token: string,
    update: Partial<
      Pick<
        RolloutItemRecord,
        'result' | 'reason' | 'fromChartVersion' | 'upgradeGeneration'
      >
    >,
  ): Promise<boolean> {
    const row: Record<string, unknown> = { updated_at: this.clock() };
    if (update.result !== undefined) row.result = update.result;
    if (update.reason !== undefined) row.reason = update.reason;
    if (update.fromChartVersion !== undefined)
      row.from_chart_version = update.fromChartVersion;
    if (update.upgradeGeneration !== undefined)
      row.upgrade_generation = update.upgradeGeneration;
    const updated = await this.db('store_rollout_items')
      .where({ rollout_id: rolloutId, store_id: storeId })
      .whereExists(q =>
        q
          .select(this.db.raw('1'))
          .from('store_rollouts')
          .where({ id: rolloutId, lease_holder: token }),
      )
      .update(row);
    return updated === 1;
  }

  /**
   * An operator's command: moves a rollout in one of `from` to `to` with a new generation (so a
   * holder's pending decision is dropped) and its event. `resume` makes it due now and counts
   * the failures so far as the baseline a resumed halted rollout starts from.
   */
  async commandRollout(
    id: string,
    from: RolloutStatus[],
    to: RolloutStatus,
    event: NewRolloutEvent,
    options: { resume?: boolean } = {},
  ): Promise<boolean> {
    return this.db.transaction(async tx => {
      const row: Record<string, unknown> = {
        status: to,
        generation: this.db.raw('generation + 1'),
        updated_at: this.clock(),
      };
      if (options.resume) {
        row.next_check_at = this.clock();
        row.halt_reason = null;
        row.failure_baseline = tx('store_rollout_items')
          .where({ rollout_id: id, result: 'failed' })
          .count('*');
      }
      const updated = await tx('store_rollouts')
        .where({ id })
        .whereIn('status', from)
        .update(row);
      if (updated !== 1) return false;
      await tx('store_rollout_events').insert(this.eventRow(id, event));
      return true;
    });
  }

  private eventRow(rolloutId: string, event: NewRolloutEvent) {
    return {
      rollout_id: rolloutId,
      created_at: this.clock(),
      type: event.type,
      level: event.level,
      message: event.message,
      actor: event.actor ?? null,
    };
  }
}
