import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import { randomUUID } from 'node:crypto';
import {
  RolloutEventRecord,
  RolloutItemRecord,
  RolloutRecord,
  RolloutRepository,
  RolloutStatus,
} from '../database/RolloutRepository';

/** A rollout with its stores (by wave) and its latest events, newest first. */
export interface RolloutDetails {
  rollout: RolloutRecord;
  items: RolloutItemRecord[];
  events: RolloutEventRecord[];
}

const ROLLOUT_EVENTS_SHOWN = 100;

export interface RolloutSettings {
  waveSize: number;
  pauseMs: number;
  maxFailures: number;
}

export interface RolloutServiceOptions {
  rollouts: RolloutRepository;
  /** Defaults from `storeplane.rollouts.*`. */
  defaults: RolloutSettings;
  shippedChartVersion: (engineName: string) => Promise<string | null>;
  /** Asks the engine to look at due rollouts now. */
  wakeEngine?: () => void;
}

export interface CreateRolloutRequest extends Partial<RolloutSettings> {
  engine?: string;
  /** Must be the version the backend installs now; the only one it can. */
  targetChartVersion?: string;
}

/** What operators can do with fleet rollouts, independent of HTTP. */
export class RolloutService {
  constructor(private readonly options: RolloutServiceOptions) {}

  async createRollout(
    request: CreateRolloutRequest,
    actor: string,
  ): Promise<RolloutRecord> {
    const { rollouts, defaults } = this.options;
    const engine = request.engine ?? 'woocommerce';
    const shipped = await this.options.shippedChartVersion(engine);
    if (shipped === null) {
      throw new ConflictError(
        `This backend cannot tell which chart version it installs for engine '${engine}'; set storeplane.helm.chartVersion to start a rollout`,
      );
    }
    if (
      request.targetChartVersion !== undefined &&
      request.targetChartVersion !== shipped
    ) {
      throw new InputError(
        `This backend installs chart ${shipped} for engine '${engine}', so a rollout can only move stores to ${shipped}, not ${request.targetChartVersion}`,
      );
    }
    const settings = { ...defaults, ...withoutUndefined(request) };
    const candidates = await rollouts.listCandidates(engine, shipped);
    if (candidates.length === 0) {
      throw new ConflictError(
        `Every '${engine}' store already runs chart ${shipped}; there is nothing to roll out`,
      );
    }
    // The canary wave holds the oldest store alone; then waves of `waveSize`.
    const items = candidates.map((store, index) => ({
      storeId: store.id,
      wave: index === 0 ? 1 : 2 + Math.floor((index - 1) / settings.waveSize),
    }));
    const id = `rollout-${randomUUID().slice(0, 8)}`;
    const inserted = await rollouts.insertRollout(
      {
        id,
        status: 'Pending',
        engine,
        targetChartVersion: shipped,
        waveSize: settings.waveSize,
        pauseMs: settings.pauseMs,
        maxFailures: settings.maxFailures,
        waveCount: items[items.length - 1].wave,
        createdBy: actor,
      },
      items,
      {
        type: 'requested',
        level: 'info',
        message: `Rollout of ${items.length} stores to chart ${shipped} requested`,
        actor,
      },
    );
    if (!inserted.inserted) {
      throw new ConflictError(
        `Rollout ${inserted.unfinishedId} is not finished; abort it or let it finish before starting another`,
      );
    }
    this.options.wakeEngine?.();
    return (await rollouts.getRollout(id))!;
  }

  async getRollout(id: string): Promise<RolloutRecord> {
    const rollout = await this.options.rollouts.getRollout(id);
    if (!rollout) throw new NotFoundError(`No rollout with id '${id}'`);
    return rollout;
  }

  async listRollouts(limit: number): Promise<RolloutRecord[]> {
    return (await this.options.rollouts.listRollouts({ limit })).items;
  }

  async describeRollout(id: string): Promise<RolloutDetails> {
    const rollout = await this.getRollout(id);
    const [items, events] = await Promise.all([
      this.options.rollouts.listItems(id),
      this.options.rollouts.listEvents(id, ROLLOUT_EVENTS_SHOWN),
    ]);
    return { rollout, items, events };
  }

  /** Stops starting new waves; stores mid-upgrade finish their own upgrade or rollback. */
  pause(id: string, actor: string) {
    return this.command(id, ['Pending', 'Running'], 'Paused', actor, 'paused');
  }

  resume(id: string, actor: string) {
    return this.command(id, ['Paused', 'Halted'], 'Running', actor, 'resumed', {
      resume: true,
    });
  }

  abort(id: string, actor: string) {
    return this.command(
      id,
      ['Pending', 'Running', 'Paused', 'Halted'],
      'Aborted',
      actor,
      'aborted',
    );
  }

  private async command(
    id: string,
    from: RolloutStatus[],
    to: RolloutStatus,
    actor: string,
    verb: string,
    options: { resume?: boolean } = {},
  ): Promise<RolloutRecord> {
    const rollout = await this.getRollout(id);
    const done = await this.options.rollouts.commandRollout(
      id,
      from,
      to,
      { type: verb, level: 'info', message: `Rollout ${verb}`, actor },
      options,
    );
    if (!done) {
      throw new ConflictError(
        `Rollout ${id} is ${rollout.status}; only a rollout that is ${from.join(
          ' or ',
        )} can be ${verb}`,
      );
    }
    if (options.resume) this.options.wakeEngine?.();
    return this.getRollout(id);
  }
}

function withoutUndefined(
  request: CreateRolloutRequest,
): Partial<RolloutSettings> {
  const settings: Partial<RolloutSettings> = {};
  if (request.waveSize !== undefined) settings.waveSize = request.waveSize;
  if (request.pauseMs !== undefined) settings.pauseMs = request.pauseMs;
  if (request.maxFailures !== undefined)
    settings.maxFailures = request.maxFailures;
  return settings;
}
