import { LoggerService } from '@backstage/backend-plugin-api';
import { ConflictError, isError, NotFoundError } from '@backstage/errors';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import {
  RolloutItemRecord,
  RolloutRecord,
  RolloutRepository,
} from '../database/RolloutRepository';
import { StoreRecord, StoreRepository } from '../database/StoreRepository';

export interface RolloutEngineOptions {
  rollouts: RolloutRepository;
  stores: Pick<StoreRepository, 'getStore'>;
  /** The single-store upgrade (StoresService.upgradeStore): same checks, same state machine. */
  upgradeStore: (store: StoreRecord, actor: string) => Promise<unknown>;
  /** The chart version this backend installs for an engine now; null when it cannot tell. */
  shippedChartVersion: (engineName: string) => Promise<string | null>;
  logger: LoggerService;
  leaseMs: number;
  /** How soon a rollout whose wave still runs is looked at again. */
  checkIntervalMs: number;
  /** Identity of this replica in lease tokens; unique per process. */
  replicaId?: string;
}

const RESULT_LEVELS = {
  succeeded: 'info',
  failed: 'error',
  skipped: 'warning',
} as const;

/** The holder lost its lease, or an operator command overruled what it was about to do. */
class RolloutLeaseLost extends Error {}

/**
 * Advances fleet rollouts, one claimed rollout at a time (see docs/architecture.md "Fleet
 * rollouts"). Each call of `runOnce` claims the due rollouts, settles the stores whose upgrade
 * finished, and starts the next wave when the current one is over and its pause elapsed. All
 * state is in the database, so any replica, or a new process after a restart, carries on.
 */
export class RolloutEngine {
  readonly replicaId: string;

  constructor(private readonly options: RolloutEngineOptions) {
    this.replicaId =
      options.replicaId ??
      `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  }

  /** Advances every due rollout once; returns how many it claimed. */
  async runOnce(): Promise<number> {
    const { rollouts, leaseMs, logger } = this.options;
    let claimed = 0;
    for (const id of await rollouts.listDueRollouts(10)) {
      const token = `${this.replicaId}/${randomUUID().slice(0, 8)}`;
      const rollout = await rollouts.claimRollout(id, token, leaseMs);
      if (!rollout) continue;
      claimed++;
      try {
        await this.advance(rollout, token);
      } catch (error) {
        if (error instanceof RolloutLeaseLost) {
          logger.info(`Rollout ${id}: ${error.message}; left as it is now`);
        } else {
          logger.error(
            `Rollout ${id} could not advance: ${error}; it is looked at again`,
          );
          await rollouts.updateClaimedRollout(id, token, undefined, {
            nextCheckInMs: this.options.checkIntervalMs,
          });
        }
      } finally {
        await rollouts.releaseRollout(id, token);
      }
    }
    return claimed;
  }

  private async advance(rollout: RolloutRecord, token: string) {
    const { rollouts, checkIntervalMs } = this.options;
    const items = await rollouts.listItems(rollout.id);
    const upgrading = items.filter(item => item.result === 'upgrading');
    for (const item of upgrading) await this.settle(rollout, token, item);
    const stillUpgrading = (await rollouts.listItems(rollout.id)).filter(
      item => item.result === 'upgrading',
    );

    if (rollout.status !== 'Pending' && rollout.status !== 'Running') {
      // Paused, halted or aborted: stores mid-upgrade finish their own upgrade or rollback,
      // and their results are still recorded; no new wave starts.
      await rollouts.updateClaimedRollout(rollout.id, token, undefined, {
        nextCheckInMs: stillUpgrading.length > 0 ? checkIntervalMs : null,
      });
      return;
    }
    if (rollout.status === 'Pending') {
      await this.write(rollout, token, { status: 'Running' });
      await rollouts.addEvent(rollout.id, {
        type: 'started',
        level: 'info',
        message: `Rollout to chart ${rollout.targetChartVersion} started: ${items.length} stores in ${rollout.waveCount} waves (a canary wave of 1, then waves of ${rollout.waveSize})`,
      });
    }
    if (rollout.currentWave === 0) {
      await this.startWave(rollout, token, 1);
      return;
    }
    const wave = (await rollouts.listItems(rollout.id)).filter(
      item => item.wave === rollout.currentWave,
    );
    if (wave.some(item => item.result === 'upgrading')) {
      await this.write(rollout, token, { nextCheckInMs: checkIntervalMs });
      return;
    }
    if (rollout.nextWaveAt === null) {
      await this.finishWave(rollout, token, wave);
      return;
    }
    // The wave is over and so is its pause (or a halted rollout was resumed).
    if (rollout.currentWave >= rollout.waveCount)
      await this.succeed(rollout, token);
    else await this.startWave(rollout, token, rollout.currentWave + 1);
  }

  /** Records the wave's end: halts, succeeds, or pauses before the next wave. */
  private async finishWave(
    rollout: RolloutRecord,
    token: string,
    wave: RolloutItemRecord[],
  ) {
    const { rollouts } = this.options;
    const all = await rollouts.listItems(rollout.id);
    const failed = all.filter(item => item.result === 'failed');
    const counted = failed.length - rollout.failureBaseline;
    const tally = (result: string) =>
      wave.filter(item => item.result === result).length;
    await rollouts.addEvent(rollout.id, {
      type: 'wave.finished',
      level: tally('failed') > 0 ? 'warning' : 'info',
      message: `Wave ${rollout.currentWave} of ${
        rollout.waveCount
      } finished: ${tally('succeeded')} succeeded, ${tally(
        'failed',
      )} failed, ${tally('skipped')} skipped`,
    });
    if (counted >= rollout.maxFailures) {
      const reason = `${counted} store${
        counted === 1 ? '' : 's'
      } failed (at most ${rollout.maxFailures - 1} allowed): ${failed
        .slice(-5)
        .map(item => `${item.storeId}: ${item.reason}`)
        .join('; ')}`;
      // A resume starts the next wave at once: this one is over.
      await this.halt(rollout, token, reason, { nextWaveInMs: 0 });
      return;
    }
    if (rollout.currentWave >= rollout.waveCount) {
      await this.succeed(rollout, token);
      return;
    }
    await this.write(rollout, token, {
      nextWaveInMs: rollout.pauseMs,
      nextCheckInMs: rollout.pauseMs,
    });
  }

  private async succeed(rollout: RolloutRecord, token: string) {
    const all = await this.options.rollouts.listItems(rollout.id);
    const count = (result: string) =>
      all.filter(item => item.result === result).length;
    await this.write(rollout, token, {
      status: 'Succeeded',
      nextCheckInMs: null,
      nextWaveInMs: null,
    });
    await this.options.rollouts.addEvent(rollout.id, {
      type: 'succeeded',
      level: 'info',
      message: `Rollout finished: ${count('succeeded')} stores on chart ${
        rollout.targetChartVersion
      }, ${count('failed')} failed, ${count('skipped')} skipped`,
    });
  }

  private async halt(
    rollout: RolloutRecord,
    token: string,
    reason: string,
    update: { nextWaveInMs?: number } = {},
  ) {
    await this.write(rollout, token, {
      status: 'Halted',
      haltReason: reason,
      nextCheckInMs: null,
      ...update,
    });
    await this.options.rollouts.addEvent(rollout.id, {
      type: 'halted',
      level: 'error',
      message: `Rollout halted: ${reason}. Resume it to go on, or abort it`,
    });
  }

  private async startWave(
    rollout: RolloutRecord,
    token: string,
    waveNumber: number,
  ) {
    const { rollouts, stores, checkIntervalMs, shippedChartVersion } =
      this.options;
    const shipped = await shippedChartVersion(rollout.engine);
    if (shipped !== rollout.targetChartVersion) {
      await this.halt(
        rollout,
        token,
        `this backend now installs chart ${
          shipped ?? 'of an unknown version'
        }, not the rollout's target ${
          rollout.targetChartVersion
        }; abort this rollout and start a new one`,
      );
      return;
    }
    await this.write(rollout, token, {
      currentWave: waveNumber,
      nextWaveInMs: null,
      nextCheckInMs: checkIntervalMs,
    });
    const wave = (await rollouts.listItems(rollout.id)).filter(
      item => item.wave === waveNumber && item.result === 'pending',
    );
    await rollouts.addEvent(rollout.id, {
      type: 'wave.started',
      level: 'info',
      message: `Wave ${waveNumber} of ${rollout.waveCount}${
        waveNumber === 1 ? ' (canary)' : ''
      } started: ${wave.map(item => item.storeId).join(', ')}`,
    });
    for (const item of wave) {
      // An operator's pause or abort stops the wave between two stores.
      if (
        !(await rollouts.renewLease(
          rollout.id,
          token,
          this.options.leaseMs,
          rollout.generation,
        ))
      )
        throw new RolloutLeaseLost(
          'its lease was lost or an operator changed it while a wave started',
        );
      const store = await stores.getStore(item.storeId);
      const skipReason = whySkipped(store, rollout.targetChartVersion);
      if (skipReason) {
        await this.recordResult(rollout, token, item, 'skipped', skipReason);
        continue;
      }
      // Intent first: a holder that dies after the request leaves an item that a later
      // holder can tell apart from one whose request never landed (see `settle`).
      await this.writeItem(rollout, token, item, {
        result: 'upgrading',
        fromChartVersion: store!.chartVersion,
        upgradeGeneration: store!.generation + 1,
      });
      await this.requestUpgrade(rollout, token, item, store!);
    }
  }

  /** Records the outcome of a store whose upgrade finished, or re-requests one that never landed. */
  private async settle(
    rollout: RolloutRecord,
    token: string,
    item: RolloutItemRecord,
  ) {
    const store = await this.options.stores.getStore(item.storeId);
    const expected = item.upgradeGeneration!;
    if (!store || store.status === 'Deleting') {
      await this.recordResult(
        rollout,
        token,
        item,
        'skipped',
        'the store was deleted during its upgrade',
      );
      return;
    }
    if (store.generation < expected) {
      if (store.generation === expected - 1)
        await this.requestUpgrade(rollout, token, item, store);
      return;
    }
    const finished =
      (store.status === 'Ready' || store.status === 'Degraded') &&
      (store.observedGeneration ?? 0) >= expected;
    if (finished && store.chartVersion === rollout.targetChartVersion) {
      await this.recordResult(rollout, token, item, 'succeeded', null);
    } else if (finished) {
      await this.recordResult(
        rollout,
        token,
        item,
        'failed',
        store.lastError ??
          `the store runs chart ${store.chartVersion ?? 'of unknown version'}`,
      );
    } else if (store.status === 'Failed') {
      await this.recordResult(
        rollout,
        token,
        item,
        'failed',
        store.lastError ?? 'the store failed',
      );
    }
  }

  private async requestUpgrade(
    rollout: RolloutRecord,
    token: string,
    item: RolloutItemRecord,
    store: StoreRecord,
  ) {
    try {
      await this.options.upgradeStore(store, rollout.createdBy);
      await this.options.rollouts.addEvent(rollout.id, {
        type: 'store.upgrading',
        level: 'info',
        message: `Store ${store.id}: upgrade from chart ${
          store.chartVersion ?? 'of unknown version'
        } requested`,
      });
    } catch (error) {
      // The store moved on since it was read (a user changed or deleted it): not this
      // rollout's failure, so it is skipped with the refusal's words.
      if (
        isError(error) &&
        (error.name === ConflictError.name || error.name === NotFoundError.name)
      ) {
        await this.recordResult(rollout, token, item, 'skipped', error.message);
        return;
      }
      throw error;
    }
  }

  private async recordResult(
    rollout: RolloutRecord,
    token: string,
    item: RolloutItemRecord,
    result: 'succeeded' | 'failed' | 'skipped',
    reason: string | null,
  ) {
    await this.writeItem(rollout, token, item, { result, reason });
    await this.options.rollouts.addEvent(rollout.id, {
      type: `store.${result}`,
      level: RESULT_LEVELS[result],
      message: `Store ${item.storeId} ${result}${
        result === 'succeeded'
          ? `: on chart ${rollout.targetChartVersion}`
          : `: ${reason}`
      }`,
    });
  }

  private async writeItem(
    rollout: RolloutRecord,
    token: string,
    item: RolloutItemRecord,
    update: Parameters<RolloutRepository['updateClaimedItem']>[3],
  ) {
    const written = await this.options.rollouts.updateClaimedItem(
      rollout.id,
      item.storeId,
      token,
      update,
    );
    if (!written) throw new RolloutLeaseLost('its lease was lost');
  }

  /** A decision an operator's pause, resume or abort overrules (fenced on the generation). */
  private async write(
    rollout: RolloutRecord,
    token: string,
    update: Parameters<RolloutRepository['updateClaimedRollout']>[3],
  ) {
    const written = await this.options.rollouts.updateClaimedRollout(
      rollout.id,
      token,
      rollout.generation,
      update,
    );
    if (!written)
      throw new RolloutLeaseLost(
        'its lease was lost or an operator changed it meanwhile',
      );
  }
}

/** Why a store is not upgraded when its wave comes; undefined when it is. */
function whySkipped(
  store: StoreRecord | undefined,
  target: string,
): string | undefined {
  if (!store || store.status === 'Deleting')
    return 'the store was deleted before its wave';
  if (store.chartVersion === target)
    return `the store already runs chart ${target}`;
  if (store.status !== 'Ready' && store.status !== 'Degraded')
    return `the store was ${store.status} when its wave came; only a Ready or Degraded store is upgraded`;
  return undefined;
}
