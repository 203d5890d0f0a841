import { LoggerService } from '@backstage/backend-plugin-api';
import { Knex } from 'knex';
import { StoresConfig } from './config/readStoresConfig';
import { StoreRepository } from './database/StoreRepository';
import { DueNotifications } from './database/DueNotifications';
import { BackupRepository } from './database/BackupRepository';
import { RestoreRepository } from './database/RestoreRepository';
import { EngineRegistry } from './engines/EngineRegistry';
import { StoreEngine } from './engines/types';
import { createWooCommerceEngine } from './engines/woocommerceEngine';
import { packageChart } from './kubernetes/bundledChart';
import { KubernetesClient } from './kubernetes/KubernetesClient';
import { StoresMetrics } from './metrics';
import { ReconcileLoop } from './reconciler/ReconcileLoop';
import {
  StoreChangeListener,
  StoreReconciler,
} from './reconciler/StoreReconciler';
import { StoreWatches } from './reconciler/StoreWatches';
import { StoresService } from './service/StoresService';
import { RolloutRepository } from './database/RolloutRepository';
import { RolloutEngine } from './rollouts/RolloutEngine';
import { RolloutService } from './rollouts/RolloutService';
import { StoreDomains } from './domains/StoreDomains';
import { DomainResolver } from './domains/DomainResolver';

export interface StoresRuntimeOptions {
  knex: Knex;
  config: StoresConfig;
  logger: LoggerService;
  /** Returns the cluster client, or throws when no cluster is configured. */
  kubernetes: () => KubernetesClient;
  /** Instruments; given the repository because the gauges read store counts from it. */
  metrics: (repository: StoreRepository) => StoresMetrics;
  /** Engines added through the extension point, beside the built-in WooCommerce engine. */
  addedEngines?: StoreEngine[];
  onChange: StoreChangeListener;
  onActivity?: (storeId: string) => void;
  /** Moves the database clock (tests only). */
  clockShiftMs?: () => number;
  /** Defaults to `storeplane.reconciler.concurrency`. */
  concurrency?: number;
  replicaId?: string;
  /** Answers the custom domains' DNS checks; node:dns by default. */
  domainResolver?: DomainResolver;
}

/** The parts of the stores plugin that do not depend on HTTP or the scheduler. */
export interface StoresRuntime {
  repository: StoreRepository;
  backups: BackupRepository;
  restores: RestoreRepository;
  engines: EngineRegistry;
  reconciler: StoreReconciler;
  loop: ReconcileLoop;
  /** Undefined when `storeplane.reconciler.watch.enabled` is false. Started by the caller. */
  watches?: StoreWatches;
  service: StoresService;
  /** Fleet rollouts; the caller runs `rolloutEngine.runOnce()` on a schedule. */
  rolloutEngine: RolloutEngine;
  rollouts: RolloutService;
  domains: StoreDomains;
}

/**
 * Builds the stores plugin's desired-state store, engines, reconciler, work queue and service
 * the same way for the plugin and for tests, so that tests exercise the shipped wiring.
 */
export function createStoresRuntime(
  options: StoresRuntimeOptions,
): StoresRuntime {
  const { config, logger, kubernetes, onChange } = options;
  const repository = new StoreRepository(options.knex, {
    clockShiftMs: options.clockShiftMs,
  });

  const backups = new BackupRepository(options.knex, options.clockShiftMs);
  const restores = new RestoreRepository(options.knex, options.clockShiftMs);

  const engines = new EngineRegistry();
  engines.add(createWooCommerceEngine({ chartPath: config.helm.chartPath }));
  options.addedEngines?.forEach(engine => engines.add(engine));
  const bundledChart = bundledChartsOf(engines);

  let loop: ReconcileLoop | undefined = undefined;
  const watches = config.reconciler.watch.enabled
    ? new StoreWatches({
        kubernetes,
        logger,
        resyncMs: config.reconciler.watch.resyncMs,
        onStoreChanged: (storeId, steps) =>
          loop
            ?.storeChanged(storeId, steps)
            .catch(error =>
              logger.warn(
                `Could not mark store ${storeId} due after a change in the cluster: ${error}; its next look finds it`,
              ),
            ),
      })
    : undefined;

  const reconciler = new StoreReconciler({
    repository,
    engines,
    config,
    logger,
    metrics: options.metrics(repository),
    kubernetes,
    bundledChart,
    onChange,
    onActivity: options.onActivity,
    backups,
    restores,
    waitRequeue: watches,
    domainResolver: options.domainResolver,
  });
  loop = new ReconcileLoop({
    repository,
    reconciler,
    logger,
    concurrency: options.concurrency ?? config.reconciler.concurrency,
    leaseMs: config.reconciler.leaseMs,
    eventRetentionMs: config.eventRetentionMs,
    createRateWindowMs: config.limits.createRate.windowMs,
    unfinishedRetryMs: config.reconciler.frequencyMs,
    replicaId: options.replicaId,
    dueNotifications: replicaId =>
      new DueNotifications({
        knex: options.knex,
        logger,
        enabled: config.reconciler.notify.enabled,
        replicaId,
        fallbackMs: config.reconciler.frequencyMs,
      }),
  });
  const shippedChartVersion = async (engineName: string) =>
    config.helm.chartSource === 'bundled'
      ? (await bundledChart(engineName)).version
      : config.helm.chartVersion ?? null;
  const service = new StoresService({
    repository,
    engines,
    config,
    kubernetes,
    onChange,
    wakeReconciler: () => loop!.storeMadeDue(),
    // The version of the very archive the Helm Jobs install.
    shippedChartVersion,
  });
  const rolloutRepository = new RolloutRepository(options.knex, {
    clockShiftMs: options.clockShiftMs,
  });
  const rolloutEngine = new RolloutEngine({
    rollouts: rolloutRepository,
    stores: repository,
    upgradeStore: (store, actor) => service.upgradeStore(store, actor),
    shippedChartVersion,
    logger,
    leaseMs: config.reconciler.leaseMs,
    checkIntervalMs: config.rollouts.frequencyMs,
    replicaId: loop.replicaId,
  });
  const rollouts = new RolloutService({
    rollouts: rolloutRepository,
    defaults: config.rollouts,
    shippedChartVersion,
  });
  const domains = new StoreDomains({
    repository,
    config,
    onChange,
    wakeReconciler: () => loop!.storeMadeDue(),
  });
  return {
    repository,
    backups,
    restores,
    engines,
    reconciler,
    loop,
    watches,
    service,
    domains,
    rolloutEngine,
    rollouts,
  };
}

/** Each engine's chart, packed once on first use (and again after a failed attempt). */
function bundledChartsOf(engines: EngineRegistry) {
  const charts = new Map<string, ReturnType<typeof packageChart>>();
  return (engineName: string) => {
    if (!charts.has(engineName)) {
      const packed = packageChart(engines.get(engineName).bundledChartPath);
      packed.catch(() => charts.delete(engineName));
      charts.set(engineName, packed);
    }
    return charts.get(engineName)!;
  };
}
