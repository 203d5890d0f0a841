import { LoggerService } from '@backstage/backend-plugin-api';
import {
  NO_CLUSTER_EVENT_TYPE,
  StoreStatus,
} from '@storeplane/plugin-stores-common';
import { CONFIGURE_CLUSTER_ADVICE } from '@storeplane/plugin-stores-node';
import { StoresConfig } from '../config/readStoresConfig';
import {
  ClaimedStoreUpdate,
  NewStoreEvent,
  StoreRecord,
  StoreRepository,
} from '../database/StoreRepository';
import { EngineRegistry } from '../engines/EngineRegistry';
import { KubernetesClient } from '../kubernetes/KubernetesClient';
import { StoresMetrics } from '../metrics';
import { classifyFault, StoreFault } from './faults';
import { POLL_ONLY, WaitRequeue } from './StoreWatches';
import { decideAfterFault } from './retryPolicy';
import { LeaseLostError, StoreLease } from './StoreLease';
import {
  describeDuration,
  STEP_FUNCTIONS,
  StepContext,
  StepOutcome,
} from './steps';
import { engineInputFor } from './engineInput';
import { MonitorResult, monitorStore } from './monitorStore';
import { advanceBackup, BACKUP_POLL_MS, failBackup } from './backupRun';
import { BackupRepository } from '../database/BackupRepository';
import { RestoreRepository } from '../database/RestoreRepository';
import { RestoreOutcome, runRestore } from './restoreRun';
import { vanishedNamespaceMessage } from './OrphanSweep';
import { DnsDomainResolver, DomainResolver } from '../domains/DomainResolver';
import {
  checkStoreDomain,
  domainAfterUpdate,
  nextLookMs,
} from '../domains/domainCheck';

/** Announces store changes (catalog delta updates, live UI). */
export type StoreChangeListener = (
  storeId: string,
  status: StoreStatus | 'Deleted',
) => void;

export interface StoreReconcilerOptions {
  repository: StoreRepository;
  engines: EngineRegistry;
  config: StoresConfig;
  logger: LoggerService;
  metrics: StoresMetrics;
  /** Returns the cluster client, or throws when no cluster is configured. */
  kubernetes: () => KubernetesClient;
  bundledChart: (engineName: string) => Promise<{ archiveBase64: string }>;
  onChange: StoreChangeListener;
  /** Backups of Ready stores are run while the store is checked; none without it. */
  backups?: BackupRepository;
  /** Restores of stores from their backups; a Restoring store cannot go on without it. */
  restores?: RestoreRepository;
  /** A store got a new event (with or without a change of status or step). */
  onActivity?: (storeId: string) => void;
  /** How soon waiting steps look again; polling only unless watches are running. */
  waitRequeue?: WaitRequeue;
  /** Answers whether a store's custom domain points at the ingress yet; node:dns by default. */
  domainResolver?: DomainResolver;
  random?: () => number;
}

/** Steps run back to back in one claim while less than half the lease has passed. */
const MAX_STEPS_PER_CLAIM = 10;

/**
 * Reconciles one claimed store: runs its next step(s), records events, and writes the
 * outcome (next step, requeue time, retry with backoff, Failed, Ready, or removal). Every
 * write, to the database or to Kubernetes, is fenced by the claim's lease.
 */
export class StoreReconciler {
  private readonly random: () => number;
  private readonly domainResolver: DomainResolver;

  constructor(private readonly options: StoreReconcilerOptions) {
    this.random = options.random ?? Math.random;
    this.domainResolver = options.domainResolver ?? new DnsDomainResolver();
  }

  /**
   * The one entry point: does what the claimed store needs next. A step that lets the next run
   * at once leaves the store due now; `othersWaiting` (the work queue, when its workers are all
   * busy) says whether to release it there, behind the stores that fell due before, rather
   * than run the next step while they wait.
   */
  async reconcile(
    lease: StoreLease,
    othersWaiting?: () => Promise<boolean>,
  ): Promise<void> {
    const budgetMs = lease.leaseDurationMs / 2;
    let store: StoreRecord | undefined = lease.store;
    for (
      let i = 0;
      store && i < MAX_STEPS_PER_CLAIM && lease.elapsedMs() < budgetMs;
      i++
    ) {
      store = await this.runStep(store, lease);
      if (store && othersWaiting && (await othersWaiting())) return;
    }
  }

  /** Runs the store's current step; returns the updated store when the next step can run right away. */
  private async runStep(
    claimed: StoreRecord,
    lease: StoreLease,
  ): Promise<StoreRecord | undefined> {
    let store = claimed;
    const step = store.step;
    if (!step) {
      if (store.status === 'Ready' || store.status === 'Degraded')
        await this.monitor(store, lease);
      return undefined;
    }
    try {
      if (store.status === 'Deleting' && store.reachedClusterAt === null) {
        await this.removeStoreThatNeverReachedACluster(store, lease);
        return undefined;
      }
      const ctx = this.stepContext(store, lease);
      if (store.reachedClusterAt === null) {
        // Recorded before the first call to the cluster, so a store without the mark
        // certainly left nothing in one.
        if (
          !(await this.writeClaimed(store, lease, { markReachedCluster: true }))
        )
          return undefined;
        store = { ...store, reachedClusterAt: lease.databaseNow() };
      }
      this.checkStepTimer(store, ctx.stepElapsedMs);
      const outcome: RestoreOutcome =
        step === 'restore'
          ? await this.runRestoreStep(ctx, lease)
          : await STEP_FUNCTIONS[step](ctx);
      if (outcome.type === 'restoreFailed') {
        await this.endFailedRestore(
          store,
          lease,
          outcome.restoreId,
          outcome.message,
        );
        return undefined;
      }
      return await this.applyOutcome(store, lease, outcome);
    } catch (error) {
      if (error instanceof LeaseLostError) {
        this.options.logger.info(`${error.message}; this worker stops`);
        return undefined;
      }
      await this.recordFault(store, lease, classifyFault(error));
      return undefined;
    }
  }

  private async removeStoreThatNeverReachedACluster(
    store: StoreRecord,
    lease: StoreLease,
  ) {
    const { repository, logger } = this.options;
    if (
      await repository.deleteClaimedStore(
        store.id,
        lease.token,
        store.generation,
      )
    ) {
      await this.addEvent(store.id, {
        type: 'deleted',
        level: 'info',
        message:
          'Store deleted; it never reached a Kubernetes cluster, so nothing had to be removed there. Its events stay readable for the audit period',
      });
      logger.info(`Store ${store.id} deleted (it never reached a cluster)`);
      this.options.onChange(store.id, 'Deleted');
    }
  }

  private runRestoreStep(
    ctx: StepContext,
    lease: StoreLease,
  ): Promise<RestoreOutcome> {
    const { restores } = this.options;
    if (!restores) {
      throw new StoreFault(
        'This backend runs no restores; retry the store',
        'permanent',
        'config',
      );
    }
    return runRestore(ctx, restores, lease.token);
  }

  /**
   * The restore Job failed (or could not run): the store goes back to Ready, where the periodic
   * check tells whether it still serves, with an error event that says what to do. Its data
   * is as the failed restore left it: mariadb may have loaded part of the dump.
   */
  private async endFailedRestore(
    store: StoreRecord,
    lease: StoreLease,
    restoreId: string,
    message: string,
  ) {
    const { restores, logger } = this.options;
    const problem = `The restore failed: ${message}`;
    const written = await this.writeClaimed(store, lease, {
      status: 'Ready',
      step: null,
      attempts: 0,
      lastError: problem,
      nextAttemptInMs: 0,
    });
    if (!written) return;
    await restores?.finishRestore(
      restoreId,
      { storeId: store.id, token: lease.token },
      { status: 'Failed', message },
    );
    await this.addEvent(store.id, {
      type: 'restore.failed',
      level: 'error',
      message: `${problem}. The store is back to Ready, but its database may hold part of the backup: restore the same or another backup again, and look at the restore Job's pod in the store namespace if it fails again`,
    });
    logger.warn(`Store ${store.id}: restore failed: ${message}`);
    this.options.onChange(store.id, 'Ready');
  }

  /**
   * A provisioning step that keeps waiting fails once it is over the step timeout; the timer
   * restarts when a user retries (a new generation). Deletion is bounded by its own progress
   * instead (see the deletion steps), so it is never failed by a timer, and so is the restore
   * Job, by its activeDeadlineSeconds (a large database loads for longer than a step).
   */
  private checkStepTimer(store: StoreRecord, elapsedMs: number) {
    const { stepTimeoutMs } = this.options.config.reconciler;
    if (
      (store.status === 'Provisioning' ||
        store.status === 'Updating' ||
        (store.status === 'Restoring' && store.step !== 'restore')) &&
      elapsedMs > stepTimeoutMs
    ) {
      throw new StoreFault(
        `Step '${store.step}' did not finish within ${describeDuration(
          stepTimeoutMs,
        )}`,
        'permanent',
        'step_timeout',
      );
    }
  }

  private async applyOutcome(
    store: StoreRecord,
    lease: StoreLease,
    outcome: StepOutcome,
  ): Promise<StoreRecord | undefined> {
    const { repository, logger } = this.options;
    const write = (update: ClaimedStoreUpdate) =>
      this.writeClaimed(store, lease, update);

    if (outcome.type === 'wait') {
      const problem = outcome.problem ?? null;
      const written = await write({
        nextAttemptInMs: outcome.requeueMs,
        lastError: problem,
      });
      if (written && problem && store.lastError !== problem) {
        await this.addEvent(store.id, {
          type: 'waiting',
          level: 'warning',
          message: problem,
        });
      }
      logger.debug(`Store ${store.id}: waiting for ${outcome.waitingFor}`);
      return undefined;
    }

    if (outcome.next === 'deleted') {
      if (
        await repository.deleteClaimedStore(
          store.id,
          lease.token,
          store.generation,
        )
      ) {
        await this.addEvent(store.id, outcome.event);
        await this.addEvent(store.id, {
          type: 'deleted',
          level: 'info',
          message:
            'Store deleted; its events stay readable for the audit period',
        });
        logger.info(`Store ${store.id} deleted`);
        this.options.onChange(store.id, 'Deleted');
      }
      return undefined;
    }

    if (outcome.next === 'ready') {
      await this.markReady(store, lease, outcome);
      return undefined;
    }

    const written = await write({
      step: outcome.next,
      attempts: 0,
      lastError: null,
      nextAttemptInMs: 0,
      startStep: true,
    });
    if (!written) return undefined;
    await this.addEvent(store.id, outcome.event);
    this.options.onChange(store.id, store.status);
    return {
      ...store,
      step: outcome.next,
      attempts: 0,
      lastError: null,
      stepStartedAt: lease.databaseNow(),
    };
  }

  /**
   * The store passed every gate (or was rolled back to a release that had): it is Ready, and
   * the release, its plan and the generation it reflects are recorded, so the next update
   * knows where to roll back to.
   */
  private async markReady(
    store: StoreRecord,
    lease: StoreLease,
    outcome: Extract<StepOutcome, { type: 'advance' }>,
  ) {
    const { config, engines, logger, metrics } = this.options;
    const plan = outcome.rolledBack?.plan ?? store.plan;
    const url = engineInputFor(store, config.plans.get(plan)!, config).url;
    const engine = engines.get(store.engine);
    // Also after a provisioning that re-installed a release (a vanished namespace, a retried
    // rollback): what it serves is what the values or the rollback gave it.
    const domain = domainAfterUpdate(
      store,
      outcome.rolledBack !== undefined,
      config,
    );
    const written = await this.writeClaimed(store, lease, {
      ...domain,
      status: 'Ready',
      step: null,
      attempts: 0,
      lastError: outcome.rolledBack?.problem ?? null,
      storefrontUrl: url,
      adminUrl: `${url}${engine.adminPath}`,
      plan,
      appliedPlan: plan,
      observedGeneration: store.generation,
      ...(outcome.release
        ? {
            helmRevision: outcome.release.revision,
            chartVersion: outcome.release.chartVersion,
          }
        : {}),
      markReady: store.status === 'Provisioning',
      // A domain the release now serves gets its first DNS check at once.
      nextAttemptInMs:
        domain.domainStatus === 'AwaitingDns' ? 0 : config.monitor.intervalMs,
    });
    if (!written) return;
    await this.addEvent(store.id, outcome.event);
    const release = outcome.release
      ? ` (Helm revision ${outcome.release.revision}${
          outcome.release.chartVersion
            ? `, chart ${outcome.release.chartVersion}`
            : ''
        })`
      : '';
    if (store.status === 'Restoring') {
      const restore = await this.options.restores?.runningRestore(store.id);
      if (restore) {
        await this.options.restores!.finishRestore(
          restore.id,
          { storeId: store.id, token: lease.token },
          { status: 'Succeeded' },
        );
      }
      await this.addEvent(store.id, {
        type: 'restore.succeeded',
        level: 'info',
        message: `Restore${
          restore ? ` of backup ${restore.backupId}` : ''
        } done: the store passed its availability and health checks and is Ready`,
      });
      logger.info(`Store ${store.id} is Ready after a restore`);
    } else if (store.status === 'Updating') {
      if (!outcome.rolledBack) {
        await this.addEvent(store.id, {
          type: 'updated',
          level: 'info',
          message: `Update done: store is Ready on plan ${plan}${release}`,
        });
      }
      logger.info(
        `Store ${store.id} is Ready after an update${
          outcome.rolledBack ? ' that was rolled back' : ''
        }`,
      );
    } else {
      await this.addEvent(store.id, {
        type: 'ready',
        level: 'info',
        message: `Store is Ready at ${url}${release}`,
      });
      metrics.recordProvisioned(
        (lease.databaseNow() - store.createdAt) / 1000,
        store.plan,
      );
      logger.info(`Store ${store.id} is Ready`);
    }
    this.options.onChange(store.id, 'Ready');
  }

  /**
   * The periodic check of a Ready or Degraded store (see monitorStore.ts): a failing check
   * makes it Degraded, a passing one Ready again, each change with an event. A fault of the
   * check itself (the API server unreachable, no cluster) is not the store's: its status
   * stays, and the next check comes one interval later.
   */
  private async monitor(store: StoreRecord, lease: StoreLease): Promise<void> {
    const { config, logger, metrics } = this.options;
    const backupPollMs = await this.advanceBackup(store, lease);
    if (backupPollMs === 'leaseLost') return;
    const domainCheck = await checkStoreDomain(
      store,
      config,
      this.domainResolver,
    );
    const intervalMs = Math.min(
      domainCheck?.becameActive
        ? config.monitor.intervalMs
        : nextLookMs(
            { ...store, ...(domainCheck ? domainCheck.update : {}) },
            config,
          ),
      backupPollMs ?? Infinity,
    );
    const write = async (update: ClaimedStoreUpdate) => {
      const written = await this.writeClaimed(store, lease, {
        nextAttemptInMs: intervalMs,
        ...domainCheck?.update,
        ...update,
      });
      if (written && domainCheck?.becameActive) {
        await this.addEvent(store.id, {
          type: 'domain.active',
          level: 'info',
          message: `Custom domain ${store.domain} is Active: ${domainCheck.update.domainMessage}`,
        });
        this.options.onChange(store.id, update.status ?? store.status);
      }
      if (written && domainCheck?.lost) {
        await this.addEvent(store.id, {
          type: 'domain.lost',
          level: 'warning',
          message: `Custom domain ${store.domain} awaits DNS again: ${domainCheck.update.domainMessage}`,
        });
        this.options.onChange(store.id, update.status ?? store.status);
      }
      return written;
    };
    let result: MonitorResult;
    try {
      result = await monitorStore(this.stepContext(store, lease));
    } catch (error) {
      if (error instanceof LeaseLostError) {
        logger.info(`${error.message}; this worker stops`);
        return;
      }
      const fault = classifyFault(error);
      metrics.recordReconcileError(fault.reason, fault.kind);
      if (fault.kind === 'transient') {
        logger.warn(
          `Store ${store.id}: the periodic check could not run (${
            fault.reason
          }): ${fault.message}; next check in ${describeDuration(intervalMs)}`,
        );
        await write({});
        return;
      }
      result = {
        type: 'checked',
        problems: [`Storeplane cannot check the store: ${fault.message}`],
        restored: [],
      };
    }

    if (result.type === 'namespaceVanished') {
      const message = vanishedNamespaceMessage(store.namespace);
      if (
        await write({
          status: 'Failed',
          step: 'guardrails',
          lastError: message,
        })
      ) {
        await this.addEvent(store.id, {
          type: 'namespace.vanished',
          level: 'error',
          message,
        });
        logger.warn(`Store ${store.id}: ${message}`);
        this.options.onChange(store.id, 'Failed');
      }
      return;
    }

    if (result.restored.length > 0) {
      const message = `Guardrails deleted or changed outside Storeplane were applied again: ${result.restored.join(
        ', ',
      )}`;
      await this.addEvent(store.id, {
        type: 'guardrails.restored',
        level: 'warning',
        message,
      });
      logger.warn(`Store ${store.id}: ${message}`);
    }

    if (result.problems.length > 0) {
      const problem = result.problems.join('; ');
      if (store.status === 'Degraded' && store.lastError === problem) {
        await write({});
        return;
      }
      if (await write({ status: 'Degraded', lastError: problem })) {
        await this.addEvent(store.id, {
          type: 'degraded',
          level: 'warning',
          message: `Store is Degraded: ${problem}`,
        });
        logger.warn(`Store ${store.id} is Degraded: ${problem}`);
        this.options.onChange(store.id, 'Degraded');
      }
      return;
    }

    if (store.status === 'Degraded') {
      if (await write({ status: 'Ready', lastError: null })) {
        await this.addEvent(store.id, {
          type: 'recovered',
          level: 'info',
          message:
            'Every check passes again: workloads available, health check passed, guardrails in place. Store is Ready',
        });
        logger.info(`Store ${store.id} recovered and is Ready`);
        this.options.onChange(store.id, 'Ready');
      }
      return;
    }
    await write({});
  }

  private async recordFault(
    store: StoreRecord,
    lease: StoreLease,
    fault: StoreFault,
  ) {
    const { config, metrics, logger } = this.options;
    metrics.recordReconcileError(fault.reason, fault.kind);
    const decision = decideAfterFault(
      store,
      fault,
      config.reconciler,
      this.random,
    );
    const write = (update: ClaimedStoreUpdate) =>
      this.writeClaimed(store, lease, update);

    if (decision.type === 'waitForCluster') {
      // Without a cluster there is nothing to count down: keep the store waiting and say why,
      // once. Time spent waiting does not count against the step's timeout either.
      const written = await write({
        lastError: fault.message,
        nextAttemptInMs: decision.delayMs,
        startStep: true,
      });
      if (written && store.lastError !== fault.message) {
        await this.addEvent(store.id, {
          type: NO_CLUSTER_EVENT_TYPE,
          level: 'warning',
          message: fault.message,
        });
      }
      return;
    }

    if (
      decision.type === 'fail' &&
      store.status === 'Updating' &&
      store.step !== 'helmRollback'
    ) {
      await this.startRollback(store, lease, decision.message);
      return;
    }

    if (decision.type === 'fail' && store.status === 'Restoring') {
      const restore = await this.options.restores?.runningRestore(store.id);
      if (store.step === 'restore' && restore) {
        await this.endFailedRestore(store, lease, restore.id, decision.message);
        return;
      }
      if (restore) {
        await this.options.restores!.finishRestore(
          restore.id,
          { storeId: store.id, token: lease.token },
          { status: 'Failed', message: decision.message },
        );
      }
    }

    if (decision.type === 'fail') {
      const written = await write({
        status: 'Failed',
        attempts: decision.attempts,
        lastError: decision.message,
      });
      if (written) {
        await this.addEvent(store.id, {
          type: 'failed',
          level: 'error',
          message: decision.message,
        });
        logger.warn(
          `Store ${store.id} failed at step ${store.step}: ${decision.message}`,
        );
        this.options.onChange(store.id, 'Failed');
      }
      return;
    }

    const written = await write({
      attempts: decision.attempts,
      lastError: fault.message,
      nextAttemptInMs: decision.delayMs,
    });
    if (written) {
      metrics.recordRetry(store.step ?? 'unknown');
      const ofMax =
        store.status === 'Deleting'
          ? ''
          : ` of ${config.reconciler.maxAttempts}`;
      await this.addEvent(store.id, {
        type: 'retry.scheduled',
        level: 'warning',
        message: `${fault.message} (attempt ${
          decision.attempts
        }${ofMax}; next try in ${Math.ceil(decision.delayMs / 1000)} s)`,
      });
      logger.info(
        `Store ${store.id} step ${store.step} will be retried (${fault.reason}): ${fault.message}`,
      );
    }
  }

  /**
   * Runs the store's unfinished backup on (see backupRun.ts). A fault is the backup's, not the
   * store's: a transient one is logged and tried again at the next look, a permanent one
   * (e.g. a permission the cluster refuses) fails the backup with the reason.
   */
  private async advanceBackup(
    store: StoreRecord,
    lease: StoreLease,
  ): Promise<number | undefined | 'leaseLost'> {
    const { backups, config, logger } = this.options;
    if (!backups) return undefined;
    const hold = { storeId: store.id, token: lease.token };
    try {
      const ctx = this.stepContext(store, lease);
      try {
        return await advanceBackup(ctx, backups, {
          retention: config.backups.retention,
          leaseToken: lease.token,
        });
      } catch (error) {
        if (error instanceof LeaseLostError) throw error;
        const fault = classifyFault(error);
        const backup = await backups.unfinishedBackup(store.id);
        if (fault.kind === 'permanent' && backup) {
          await failBackup(ctx, backups, backup, hold, fault.message);
          logger.warn(
            `Store ${store.id}: backup ${backup.id} failed: ${fault.message}`,
          );
          return undefined;
        }
        logger.warn(
          `Store ${store.id}: its backup could not go on (${fault.reason}): ${
            fault.message
          }; trying again in ${describeDuration(BACKUP_POLL_MS)}`,
        );
        return BACKUP_POLL_MS;
      }
    } catch (error) {
      if (error instanceof LeaseLostError) {
        logger.info(`${error.message}; this worker stops`);
        return 'leaseLost';
      }
      // No context to run it in (no cluster, plan gone): the store's own check says so.
      return undefined;
    }
  }

  /**
   * An update whose gates failed (retries used up, the step timeout passed, or a permanent
   * fault) goes back to the release that last passed them instead of failing the store.
   */
  private async startRollback(
    store: StoreRecord,
    lease: StoreLease,
    reason: string,
  ) {
    const written = await this.writeClaimed(store, lease, {
      step: 'helmRollback',
      attempts: 0,
      lastError: reason,
      nextAttemptInMs: 0,
      startStep: true,
    });
    if (!written) return;
    const to = store.helmRevision
      ? `Helm revision ${store.helmRevision}`
      : 'the previous Helm revision';
    await this.addEvent(store.id, {
      type: 'update.failed',
      level: 'error',
      message: `The update did not pass step '${store.step}': ${reason}. Rolling back to ${to}`,
    });
    this.options.logger.warn(
      `Store ${store.id}: update failed at step ${store.step} (${reason}); rolling back to ${to}`,
    );
    this.options.onChange(store.id, store.status);
  }

  private async addEvent(storeId: string, event: NewStoreEvent) {
    await this.options.repository.addEvent(storeId, event);
    this.options.onActivity?.(storeId);
  }

  /** Writes the outcome only while this claim holds the store and its generation is unchanged. */
  private writeClaimed(
    store: StoreRecord,
    lease: StoreLease,
    update: ClaimedStoreUpdate,
  ) {
    return this.options.repository.updateClaimedStore(
      store.id,
      lease.token,
      store.generation,
      update,
    );
  }

  private stepContext(store: StoreRecord, lease: StoreLease): StepContext {
    const { engines, config } = this.options;
    const engine = engines.get(store.engine);
    // Deleting needs no plan; a store whose plan was removed from config must still go away.
    const plan =
      config.plans.get(store.plan) ??
      (store.status === 'Deleting'
        ? config.plans.get(config.defaultPlan)
        : undefined);
    if (!plan) {
      throw new StoreFault(
        `Plan '${store.plan}' is no longer configured in storeplane.plans`,
        'permanent',
        'config',
      );
    }
    let kube: KubernetesClient;
    try {
      kube = this.options.kubernetes();
    } catch (error) {
      throw new StoreFault(
        `No Kubernetes cluster is configured: ${
          (error as Error).message
        }. The store waits, without using up attempts, until there is one. ${CONFIGURE_CLUSTER_ADVICE}.`,
        'transient',
        'no_cluster',
      );
    }
    // A retried rollback (the store Failed in it) still returns to the applied plan.
    const appliedPlan =
      store.status === 'Updating' || store.step === 'helmRollback'
        ? config.plans.get(store.appliedPlan ?? store.plan)
        : undefined;
    return {
      store,
      plan,
      appliedPlan,
      engine,
      engineInput: engineInputFor(store, plan, config),
      kube: kube.fenced(() => lease.assertHeld()),
      config,
      bundledChart: () => this.options.bundledChart(engine.name),
      stepElapsedMs: lease.databaseNow() - store.stepStartedAt,
      record: event => this.addEvent(store.id, event),
      requeueMs: (on, pollMs) =>
        (this.options.waitRequeue ?? POLL_ONLY).requeueMs(on, pollMs),
    };
  }
}
