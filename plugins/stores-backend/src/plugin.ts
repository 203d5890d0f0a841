import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { eventsServiceRef } from '@backstage/plugin-events-node';
import {
  StoreChangedEvent,
  storeCreatePermission,
  storeIdFromRef,
  storeplanePermissions,
  STORES_EVENTS_TOPIC,
} from '@storeplane/plugin-stores-common';
import { readStoresConfig } from './config/readStoresConfig';
import { migrateDatabase } from './database/migrateDatabase';
import { StoreRepository } from './database/StoreRepository';
import { EngineRegistry } from './engines/EngineRegistry';
import { StoreEngine, storesEnginesExtensionPoint } from './engines/types';
import { createWooCommerceEngine } from './engines/woocommerceEngine';
import { packageChart } from './kubernetes/bundledChart';
import {
  KubernetesClient,
  loadKubeConfig,
} from './kubernetes/KubernetesClient';
import { createStoresMetrics } from './metrics';
import { classifyFault } from './reconciler/faults';
import { OrphanSweep } from './reconciler/OrphanSweep';
import { ReconcileLoop } from './reconciler/ReconcileLoop';
import {
  StoreChangeListener,
  StoreReconciler,
} from './reconciler/StoreReconciler';
import {
  storePermissionRules,
  storeResourceRef,
} from './service/permissionRules';
import { createRouter } from './service/router';
import { StoresService } from './service/StoresService';

/**
 * The `stores` backend plugin: desired state in the database, a lease-based reconciler on the
 * scheduler, Kubernetes/Helm actuation, and the REST API at /api/stores.
 */
export const storesPlugin = createBackendPlugin({
  pluginId: 'stores',
  register(env) {
    const addedEngines: StoreEngine[] = [];
    env.registerExtensionPoint(storesEnginesExtensionPoint, {
      addEngine: engine => addedEngines.push(engine),
    });

    env.registerInit({
      deps: {
        rootConfig: coreServices.rootConfig,
        logger: coreServices.logger,
        database: coreServices.database,
        scheduler: coreServices.scheduler,
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        auditor: coreServices.auditor,
        lifecycle: coreServices.lifecycle,
        events: eventsServiceRef,
      },
      async init(deps) {
        const { rootConfig, logger, database, scheduler, httpRouter, events } =
          deps;
        const config = readStoresConfig(rootConfig);
        const knex = await database.getClient();
        if (!database.migrations?.skip) await migrateDatabase(knex);
        const repository = new StoreRepository(knex);

        const engines = new EngineRegistry();
        engines.add(
          createWooCommerceEngine({ chartPath: config.helm.chartPath }),
        );
        addedEngines.forEach(engine => engines.add(engine));

        let kubernetesClient: KubernetesClient | undefined;
        const kubernetes = () => {
          if (!kubernetesClient) {
            const kubeConfig = loadKubeConfig(config.kubernetes);
            if (!kubeConfig.getCurrentCluster()) {
              throw new Error(
                `no cluster found for storeplane.kubernetes.source=${config.kubernetes.source} (no kubeconfig at KUBECONFIG or ~/.kube/config, or no current context)`,
              );
            }
            kubernetesClient = new KubernetesClient(
              kubeConfig,
              config.kubernetes.requestTimeoutMs,
            );
          }
          return kubernetesClient;
        };

        const charts = new Map<string, ReturnType<typeof packageChart>>();
        const bundledChart = (engineName: string) => {
          if (!charts.has(engineName)) {
            const packed = packageChart(
              engines.get(engineName).bundledChartPath,
            );
            packed.catch(() => charts.delete(engineName));
            charts.set(engineName, packed);
          }
          return charts.get(engineName)!;
        };

        const onChange: StoreChangeListener = (storeId, status) => {
          events
            .publish({
              topic: STORES_EVENTS_TOPIC,
              eventPayload: { storeId, status } satisfies StoreChangedEvent,
            })
            .catch(error =>
              logger.warn(
                `Could not publish store change of ${storeId}: ${error}`,
              ),
            );
        };

        const metrics = createStoresMetrics(repository);
        const reconciler = new StoreReconciler({
          repository,
          engines,
          config,
          logger,
          metrics,
          kubernetes,
          bundledChart,
          onChange,
        });
        const loop = new ReconcileLoop({
          repository,
          reconciler,
          logger,
          concurrency: config.reconciler.concurrency,
          leaseMs: config.reconciler.leaseMs,
          eventRetentionMs: config.eventRetentionMs,
          createRateWindowMs: config.limits.createRate.windowMs,
        });

        // Every replica runs the loop (scope local): per-store leases keep them apart, and
        // more replicas reconcile more stores at once.
        await scheduler.scheduleTask({
          id: 'storeplane-reconcile',
          frequency: { milliseconds: config.reconciler.frequencyMs },
          timeout: {
            milliseconds: Math.max(60_000, config.reconciler.leaseMs * 2),
          },
          scope: 'local',
          fn: () => loop.trigger(),
        });
        if (config.orphanSweep.enabled) {
          const sweep = new OrphanSweep({
            repository,
            kubernetes,
            logger,
            gracePeriodMs: config.orphanSweep.gracePeriodMs,
            onChange,
          });
          await scheduler.scheduleTask({
            id: 'storeplane-orphan-sweep',
            frequency: { milliseconds: config.orphanSweep.frequencyMs },
            timeout: { minutes: 5 },
            scope: 'global',
            fn: async () => {
              try {
                await sweep.run();
              } catch (error) {
                logger.error(
                  `Orphan sweep failed: ${classifyFault(error).message}`,
                );
              }
            },
          });
        }
        await scheduler.scheduleTask({
          id: 'storeplane-purge-expired',
          frequency: { hours: 1 },
          timeout: { minutes: 5 },
          scope: 'global',
          fn: () => loop.purgeExpired(),
        });

        deps.permissionsRegistry.addPermissions([storeCreatePermission]);
        deps.permissionsRegistry.addResourceType({
          resourceRef: storeResourceRef,
          permissions: storeplanePermissions.filter(p => p.type === 'resource'),
          rules: storePermissionRules,
          // Resource refs may be store ids or store entity refs (the frontend knows the latter).
          getResources: refs =>
            Promise.all(
              refs.map(ref => repository.getStore(storeIdFromRef(ref))),
            ),
        });

        const service = new StoresService({
          repository,
          engines,
          config,
          kubernetes,
          onChange,
          wakeReconciler: () => {
            loop
              .trigger()
              .catch(error => logger.error('Reconcile pass failed', error));
          },
        });
        httpRouter.use(
          await createRouter({
            httpAuth: deps.httpAuth,
            permissions: deps.permissions,
            auditor: deps.auditor,
            service,
            repository,
            engines,
            config,
          }),
        );
        logger.info(
          `Storeplane stores plugin ready: ${
            config.plans.size
          } plans, engines ${engines
            .list()
            .map(e => e.name)
            .join(', ')}, reconciler every ${
            config.reconciler.frequencyMs / 1000
          } s`,
        );
      },
    });
  },
});
