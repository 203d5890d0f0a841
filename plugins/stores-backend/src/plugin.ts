import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { eventsServiceRef } from '@backstage/plugin-events-node';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import {
  isWellFormedStoreId,
  StoreChangedEvent,
  storeAssignOwnerPermission,
  storeCreatePermission,
  storeIdFromRef,
  storeplanePermissions,
  STORES_EVENTS_TOPIC,
} from '@storeplane/plugin-stores-common';
import { readStoresConfig } from './config/readStoresConfig';
import { stepTimeoutShortfall } from './config/stepTimeoutShortfall';
import { ContentSuggester } from './content/ContentSuggester';
import { createStoresRuntime } from './createStoresRuntime';
import { migrateDatabase } from './database/migrateDatabase';
import { reusePreparedStatements } from './database/reusePreparedStatements';
import { StoreEngine, storesEnginesExtensionPoint } from './engines/types';
import { lazyKubernetesClient } from './kubernetes/lazyKubernetesClient';
import { createStoresMetrics } from './metrics';
import { classifyFault } from './reconciler/faults';
import { OrphanSweep } from './reconciler/OrphanSweep';
import { StoreChangeListener } from './reconciler/StoreReconciler';
import {
  storePermissionRules,
  storeResourceRef,
} from './service/permissionRules';
import { OwnerVerifier } from './service/OwnerVerifier';
import { CachedPermissions } from './service/cachedPermissions';
import { createRouter } from './service/router';
import { logStartupNotices } from './service/startupNotices';
import { StoreSignalPublisher } from './service/StoreSignalPublisher';

/**
 * The `stores` backend plugin: desired state in the database, a lease-based reconciler on the
 * scheduler, Kubernetes/Helm actuation, and the REST API at /api/stores.
 *
 * @public
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
        auth: coreServices.auth,
        userInfo: coreServices.userInfo,
        catalog: catalogServiceRef,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        auditor: coreServices.auditor,
        lifecycle: coreServices.lifecycle,
        rootLifecycle: coreServices.rootLifecycle,
        events: eventsServiceRef,
        signals: signalsServiceRef,
      },
      async init(deps) {
        const { rootConfig, logger, database, scheduler, httpRouter, events } =
          deps;
        const config = readStoresConfig(rootConfig);
        const shortfall = stepTimeoutShortfall(config);
        if (shortfall) logger.warn(shortfall);
        const knex = await database.getClient();
        if (!database.migrations?.skip) await migrateDatabase(knex);
        reusePreparedStatements(knex);
        const kubernetes = lazyKubernetesClient(config.kubernetes);

        const storeSignals = new StoreSignalPublisher(deps.signals, logger);
        const onChange: StoreChangeListener = (storeId, status) => {
          storeSignals.storeChanged(storeId);
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

        const {
          repository,
          backups,
          restores,
          engines,
          loop,
          watches,
          service,
          domains,
          rolloutEngine,
          rollouts,
        } = createStoresRuntime({
          knex,
          config,
          logger,
          kubernetes,
          metrics: createStoresMetrics,
          addedEngines,
          onChange,
          onActivity: storeId => storeSignals.storeActivity(storeId),
        });
        deps.lifecycle.addStartupHook(() => {
          loop.start();
          // Every replica watches: marking a store due is idempotent and claims stay fenced,
          // and the replica holding a store must see its changes (ReconcileLoop.storeChanged).
          watches?.start();
        });
        // Stopped before any plugin shuts down, while the database still answers: the claims in
        // flight write their results and release their leases. In `yarn dev`, Backstage's dev data
        // store takes in-memory SQLite's only connection in a plugin shutdown hook, to keep the
        // data across restarts; a claim still running then waited a minute per query.
        deps.rootLifecycle.addBeforeShutdownHook(() => {
          watches?.stop();
          return loop.stop();
        });

        // Every replica runs the loop: per-store leases keep them apart, and more replicas
        // reconcile more stores at once. The loop wakes itself when a store is due; this tick
        // (scope local) is the safety net, and finds stores whose lease another replica lost.
        await scheduler.scheduleTask({
          id: 'storeplane-reconcile',
          frequency: { milliseconds: config.reconciler.frequencyMs },
          timeout: { minutes: 1 },
          scope: 'local',
          fn: async () => loop.wake(),
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
        // Rollouts are leased one by one, so every replica may run this task.
        await scheduler.scheduleTask({
          id: 'storeplane-rollouts',
          frequency: { milliseconds: config.rollouts.frequencyMs },
          timeout: { minutes: 5 },
          scope: 'local',
          fn: async () => {
            await rolloutEngine.runOnce();
          },
        });
        await scheduler.scheduleTask({
          id: 'storeplane-purge-expired',
          frequency: { hours: 1 },
          timeout: { minutes: 5 },
          scope: 'global',
          fn: () => loop.purgeExpired(),
        });
        // A count of stores per owner adds up the totals and the changes not folded into them
        // yet; folding often keeps that read small. One replica at a time is enough.
        await scheduler.scheduleTask({
          id: 'storeplane-fold-store-counts',
          frequency: { seconds: 10 },
          timeout: { minutes: 1 },
          scope: 'global',
          fn: () => repository.foldStoreCounts(),
        });

        deps.permissionsRegistry.addPermissions([
          storeCreatePermission,
          storeAssignOwnerPermission,
        ]);
        deps.permissionsRegistry.addResourceType({
          resourceRef: storeResourceRef,
          permissions: storeplanePermissions.filter(p => p.type === 'resource'),
          rules: storePermissionRules,
          // Resource refs may be store ids or store entity refs (the frontend knows the
          // latter); deleted stores stay resources while their events are kept.
          getResources: refs =>
            Promise.all(
              refs.map(ref => {
                const id = storeIdFromRef(ref);
                return isWellFormedStoreId(id)
                  ? repository.getStoreOwnership(id)
                  : undefined;
              }),
            ),
        });

        httpRouter.use(
          await createRouter({
            httpAuth: deps.httpAuth,
            permissions: new CachedPermissions(deps.permissions, {
              ttlMs: config.permissions.decisionCacheTtlMs,
            }),
            auditor: deps.auditor,
            service,
            repository,
            engines,
            config,
            suggester: new ContentSuggester(config.ai, logger),
            domains,
            backups,
            restores,
            kubernetes,
            onChange,
            wakeReconciler: () => loop.storeMadeDue(),
            rollouts,
            owners: new OwnerVerifier({
              userInfo: deps.userInfo,
              permissions: deps.permissions,
              catalog: deps.catalog,
              auth: deps.auth,
            }),
          }),
        );
        logStartupNotices(config, logger);
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
