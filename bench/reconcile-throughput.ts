/**
 * Benchmark: how many stores the reconciler takes from request to Ready per second, with two
 * replicas (two ReconcileLoops on one database) racing for leases, against the HTTP fake of the
 * Kubernetes API (Jobs and workloads complete at once, so this measures Storeplane itself:
 * database, leases, steps, client-node). Prints figures; asserts nothing.
 *
 *   ./scripts/yarn.sh bench            (STORES=200 REPLICAS=2 CONCURRENCY=4 to change)
 */
import { ConfigReader } from '@backstage/config';
import knexFactory from 'knex';
import { setupServer } from 'msw/node';
import { readStoresConfig } from '../plugins/stores-backend/src/config/readStoresConfig';
import { migrateDatabase } from '../plugins/stores-backend/src/database/migrateDatabase';
import { StoreRepository } from '../plugins/stores-backend/src/database/StoreRepository';
import { EngineRegistry } from '../plugins/stores-backend/src/engines/EngineRegistry';
import { createWooCommerceEngine } from '../plugins/stores-backend/src/engines/woocommerceEngine';
import { packageChart } from '../plugins/stores-backend/src/kubernetes/bundledChart';
import { ReconcileLoop } from '../plugins/stores-backend/src/reconciler/ReconcileLoop';
import { StoreReconciler } from '../plugins/stores-backend/src/reconciler/StoreReconciler';
import { StoresService } from '../plugins/stores-backend/src/service/StoresService';
import {
  FakeKubernetesApi,
  testConfigData,
} from '../packages/stores-test-utils/src';
import {
  CHART_DIR,
  fakeKubernetesClient,
} from '../plugins/stores-backend/src/__testUtils__/harness';

const STORES = Number(process.env.STORES ?? 200);
const REPLICAS = Number(process.env.REPLICAS ?? 2);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 4);

const quietLogger: any = {
  info() {},
  warn() {},
  error(message: string) {
    process.stderr.write(`${message}\n`);
  },
  debug() {},
  child() {
    return quietLogger;
  },
};

async function main() {
  const fake = new FakeKubernetesApi();
  fake.autoProgress = true;
  const server = setupServer(...fake.handlers());
  server.listen({ onUnhandledRequest: 'error' });

  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: ':memory:',
    useNullAsDefault: true,
  });
  await migrateDatabase(knex);
  const config = readStoresConfig(
    new ConfigReader(
      testConfigData({
        limits: {
          maxActiveStoresPerUser: 100000,
          maxActiveStoresPerOwner: 100000,
          createRate: { count: 100000, window: { seconds: 60 } },
        },
        // Waiting steps look again after 3 s in production; here nothing waits on a real cluster.
        reconciler: {
          concurrency: CONCURRENCY,
          lease: { seconds: 60 },
          maxAttempts: 5,
        },
      }),
    ),
  );
  const repository = new StoreRepository(knex);
  const engines = new EngineRegistry();
  engines.add(createWooCommerceEngine({ chartPath: CHART_DIR }));
  const chart = packageChart(CHART_DIR);
  const metrics = {
    recordProvisioned() {},
    recordReconcileError() {},
    recordRetry() {},
  };
  const service = new StoresService({
    repository,
    engines,
    config,
    kubernetes: () => fakeKubernetesClient(),
    onChange: () => {},
    wakeReconciler: () => {},
  });
  const loops = Array.from({ length: REPLICAS }, (_, i) => {
    const reconciler = new StoreReconciler({
      repository,
      engines,
      config,
      logger: quietLogger,
      metrics,
      kubernetes: () => fakeKubernetesClient(),
      bundledChart: () => chart,
      onChange: () => {},
    });
    return new ReconcileLoop({
      repository,
      reconciler,
      logger: quietLogger,
      concurrency: CONCURRENCY,
      leaseMs: config.reconciler.leaseMs,
      eventRetentionMs: config.eventRetentionMs,
      createRateWindowMs: config.limits.createRate.windowMs,
      unfinishedRetryMs: config.reconciler.frequencyMs,
      replicaId: `replica-${i}`,
    });
  });

  const created = Date.now();
  for (let i = 0; i < STORES; i++) {
    await service.createStore(
      { name: `bench-${i}`, owner: 'group:default/bench', plan: 'small' },
      `user:default/u${i % 50}`,
    );
  }
  const createMs = Date.now() - created;

  const started = Date.now();
  let passes = 0;
  let claims = 0;
  for (;;) {
    const counts = await repository.countByStatus();
    if ((counts.Ready ?? 0) + (counts.Failed ?? 0) >= STORES) break;
    const worked = await Promise.all(loops.map(loop => loop.runOnce()));
    claims += worked.reduce((a, b) => a + b, 0);
    passes++;
    if (worked.every(w => w === 0))
      await new Promise(resolve => setTimeout(resolve, 200));
  }
  const elapsed = (Date.now() - started) / 1000;
  const counts = await repository.countByStatus();
  const requests = fake.requests.length;

  console.log(
    `stores: ${STORES}, replicas: ${REPLICAS}, concurrency per replica: ${CONCURRENCY}, database: SQLite in memory`,
  );
  console.log(
    `create (POST path, incl. limits and event): ${(createMs / STORES).toFixed(
      2,
    )} ms per store`,
  );
  console.log(
    `request → Ready for all: ${elapsed.toFixed(1)} s  (${(
      STORES / elapsed
    ).toFixed(1)} stores/s; Ready ${counts.Ready ?? 0}, Failed ${
      counts.Failed ?? 0
    })`,
  );
  console.log(
    `reconcile passes: ${passes}, successful claims: ${claims} (${(
      claims / STORES
    ).toFixed(1)} per store; waits on Jobs and workloads requeue after 3 s)`,
  );
  console.log(
    `Kubernetes API requests: ${(requests / STORES).toFixed(
      1,
    )} per store (fake API, incl. discovery)`,
  );
  server.close();
  await knex.destroy();
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
