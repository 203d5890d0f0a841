import { LoggerService } from '@backstage/backend-plugin-api';
import {
  NO_CLUSTER_EVENT_TYPE,
  StoreStatus,
} from '@storeplane/plugin-stores-common';
import { CONFIGURE_CLUSTER_ADVICE } from '@storeplane/plugin-stores-node';
import { StoresConfig } from '../config/readStoresConfig';
import { StoreRecord, StoreRepository } from '../database/StoreRepository';
import { EngineRegistry } from '../engines/EngineRegistry';
import { KubernetesClient } from '../kubernetes/KubernetesClient';
import { StoresMetrics } from '../metrics';
import { backoffDelay, classifyFault, StoreFault } from './faults';
import { STEP_FUNCTIONS, StepContext } from './steps';
import { engineInputFor } from './engineInput';

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
  now?: () => number;
  random?: () => number;
}

const describeDuration = (ms: number) =>
  ms >= 60_000
    ? `${Math.round(ms / 60_000)} minutes`
    : `${Math.round(ms / 1000)} s`;

/** Steps run back to back in one claim, as long as the lease has time left. */
const MAX_STEPS_PER_CLAIM = 10;

/**
 * Reconciles one claimed store: runs its next step(s), records events, and writes the
 * outcome (next step, requeue time, retry with backoff, Failed, Ready, or removal).
 */
export class StoreReconciler {
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: StoreReconcilerOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  async reconcile(claimed: StoreRecord, holder: string): Promise<void> {
    const { config } = this.options;
    const deadline = this.now() + config.reconciler.leaseMs / 2;
    let store = claimed;
    for (let i = 0; i < MAX_STEPS_PER_CLAIM && this.now() < deadline; i++) {
      const next = await this.runStep(store, holder);
      if (!next) return;
      store = next;
    }
  }

  /** Runs the store's current step; returns the updated store when the next step can run right away. */
  private async runStep(
    store: StoreRecord,
    holder: string,
  ): Promise<StoreRecord | undefined> {
    const { repository, logger } = this.options;
    if (!store.step) return undefined;
    const now = this.now();
    try {
      if (store.status === 'Deleting' && store.reachedClusterAt === null) {
        await this.removeStoreThatNeverReachedACluster(store, holder);
        return undefined;
      }
      const ctx = this.stepContext(store);
      const reachedClusterAt =
        store.reachedClusterAt ??
        (await this.recordReachingCluster(store, holder));
      if (reachedClusterAt === undefined) return undefined;
      if (
        now - store.stepStartedAt >
        this.options.config.reconciler.stepTimeoutMs
      ) {
        throw new StoreFault(
          `Step '${store.step}' did not finish within ${describeDuration(
            this.options.config.reconciler.stepTimeoutMs,
          )}`,
          'permanent',
          'step_timeout',
        );
      }
      const outcome = await STEP_FUNCTIONS[store.step](ctx);
      if (outcome.type === 'wait') {
        await repository.updateClaimedStore(
          store.id,
          holder,
          store.generation,
          { nextAttemptAt: this.now() + outcome.requeueMs, lastError: null },
          this.now(),
        );
        logger.debug(`Store ${store.id}: waiting for ${outcome.waitingFor}`);
        return undefined;
      }
      if (outcome.next === 'deleted') {
        if (
          await repository.deleteClaimedStore(
            store.id,
            holder,
            store.generation,
          )
        ) {
          await repository.addEvent(store.id, outcome.event, this.now());
          await repository.addEvent(
            store.id,
            {
              type: 'deleted',
              level: 'info',
              message:
                'Store deleted; its events stay readable for the audit period',
            },
            this.now(),
          );
          logger.info(`Store ${store.id} deleted`);
          this.options.onChange(store.id, 'Deleted');
        }
        return undefined;
      }
      if (outcome.next === 'ready') {
        const url = ctx.engineInput.url;
        const readyAt = this.now();
        const written = await repository.updateClaimedStore(
          store.id,
          holder,
          store.generation,
          {
            status: 'Ready',
            step: null,
            attempts: 0,
            lastError: null,
            storefrontUrl: url,
            adminUrl: `${url}${ctx.engine.adminPath}`,
            readyAt,
          },
          readyAt,
        );
        if (written) {
          await repository.addEvent(store.id, outcome.event, readyAt);
          await repository.addEvent(
            store.id,
            {
              type: 'ready',
              level: 'info',
              message: `Store is Ready at ${url}`,
            },
            readyAt,
          );
          this.options.metrics.recordProvisioned(
            (readyAt - store.createdAt) / 1000,
            store.plan,
          );
          logger.info(`Store ${store.id} is Ready`);
          this.options.onChange(store.id, 'Ready');
        }
        return undefined;
      }
      const stepStartedAt = this.now();
      const written = await repository.updateClaimedStore(
        store.id,
        holder,
        store.generation,
        {
          step: outcome.next,
          attempts: 0,
          lastError: null,
          nextAttemptAt: stepStartedAt,
          stepStartedAt,
        },
        stepStartedAt,
      );
      if (!written) return undefined;
      await repository.addEvent(store.id, outcome.event, stepStartedAt);
      this.options.onChange(store.id, store.status);
      return {
        ...store,
        reachedClusterAt,
        step: outcome.next,
        attempts: 0,
        lastError: null,
        stepStartedAt,
        nextAttemptAt: stepStartedAt,
      };
    } catch (error) {
      await this.recordFault(store, holder, classifyFault(error));
      return undefined;
    }
  }

  /**
   * Records that the store is about to reach a cluster, before the first call to it, so a
   * store without the mark certainly left nothing in one. Undefined: the lease was lost.
   */
  private async recordReachingCluster(
    store: StoreRecord,
    holder: string,
  ): Promise<number | undefined> {
    const now = this.now();
    const written = await this.options.repository.updateClaimedStore(
      store.id,
      holder,
      store.generation,
      { reachedClusterAt: now },
      now,
    );
    return written ? now : undefined;
  }

  private async removeStoreThatNeverReachedACluster(
    store: StoreRecord,
    holder: string,
  ) {
    const { repository, logger } = this.options;
    if (
      await repository.deleteClaimedStore(store.id, holder, store.generation)
    ) {
      await repository.addEvent(
        store.id,
        {
          type: 'deleted',
          level: 'info',
          message:
            'Store deleted; it never reached a Kubernetes cluster, so nothing had to be removed there. Its events stay readable for the audit period',
        },
        this.now(),
      );
      logger.info(`Store ${store.id} deleted (it never reached a cluster)`);
      this.options.onChange(store.id, 'Deleted');
    }
  }

  private async recordFault(
    store: StoreRecord,
    holder: string,
    fault: StoreFault,
  ) {
    const { repository, config, metrics, logger } = this.options;
    const now = this.now();
    metrics.recordReconcileError(fault.reason, fault.kind);
    // Without a cluster there is nothing to count down: keep the store waiting and say why,
    // once. Time spent waiting does not count against the step's timeout either.
    if (fault.reason === 'no_cluster') {
      const written = await repository.updateClaimedStore(
        store.id,
        holder,
        store.generation,
        {
          lastError: fault.message,
          nextAttemptAt: now + config.reconciler.maxBackoffMs,
          stepStartedAt: now,
        },
        now,
      );
      if (written && store.lastError !== fault.message) {
        await repository.addEvent(
          store.id,
          {
            type: NO_CLUSTER_EVENT_TYPE,
            level: 'warning',
            message: fault.message,
          },
          now,
        );
      }
      return;
    }
    const attempts = store.attempts + 1;
    const deleting = store.status === 'Deleting';
    // Deletion never gives up: nothing may be orphaned, so it keeps retrying at the longest backoff.
    if (
      !deleting &&
      (fault.kind === 'permanent' || attempts >= config.reconciler.maxAttempts)
    ) {
      const message =
        fault.kind === 'permanent'
          ? fault.message
          : `Gave up after ${attempts} attempts: ${fault.message}`;
      const written = await repository.updateClaimedStore(
        store.id,
        holder,
        store.generation,
        { status: 'Failed', attempts, lastError: message },
        now,
      );
      if (written) {
        await repository.addEvent(
          store.id,
          { type: 'failed', level: 'error', message },
          now,
        );
        logger.warn(
          `Store ${store.id} failed at step ${store.step}: ${message}`,
        );
        this.options.onChange(store.id, 'Failed');
      }
      return;
    }
    const delay = backoffDelay(
      Math.min(attempts, 30),
      config.reconciler.initialBackoffMs,
      config.reconciler.maxBackoffMs,
      this.random,
    );
    const written = await repository.updateClaimedStore(
      store.id,
      holder,
      store.generation,
      { attempts, lastError: fault.message, nextAttemptAt: now + delay },
      now,
    );
    if (written) {
      metrics.recordRetry(store.step ?? 'unknown');
      await repository.addEvent(
        store.id,
        {
          type: 'retry.scheduled',
          level: 'warning',
          message: `${fault.message} (attempt ${attempts}${
            deleting ? '' : ` of ${config.reconciler.maxAttempts}`
          }; next try in ${Math.ceil(delay / 1000)} s)`,
        },
        now,
      );
      logger.info(
        `Store ${store.id} step ${store.step} will be retried: ${fault.message}`,
      );
    }
  }

  private stepContext(store: StoreRecord): StepContext {
    const { engines, config } = this.options;
    const engine = engines.get(store.engine);
    const plan = config.plans.get(store.plan);
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
    return {
      store,
      plan,
      engine,
      engineInput: engineInputFor(store, plan, config),
      kube,
      config,
      bundledChart: () => this.options.bundledChart(engine.name),
    };
  }
}
