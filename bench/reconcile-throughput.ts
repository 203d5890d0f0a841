/**
 * Benchmark of the product: stores requested at once, from the create path to Ready, through
 * Storeplane's real service, reconciler, database and Kubernetes client. The Kubernetes API is
 * the fake (Jobs complete and workloads are available at once, and it serves watches) in a
 * process of its own, over HTTP, and O(1) per request, so the figures are Storeplane's: backend
 * CPU, database queries and Kubernetes API calls per store, request → Ready, claims.
 *
 * Reconcile passes run back to back (`ReconcileLoop.runOnce`) in this process, one loop per
 * replica (REPLICAS, default 1; in-process replicas share one thread, so they show correctness,
 * not scaling). Exits 1 when an invariant breaks (a store not Ready, overlapping claims); never
 * on a timing.
 *
 *   ./scripts/yarn.sh bench                                            (SQLite in memory)
 *   ./scripts/with-postgres.sh env BENCH_DATABASE=postgres ./scripts/yarn.sh bench
 *   STORES=500 REPLICAS=1 CONCURRENCY=4 to change the size
 */
import { ConfigReader } from '@backstage/config';
import knexFactory, { Knex } from 'knex';
import { readStoresConfig } from '../plugins/stores-backend/src/config/readStoresConfig';
import { migrateDatabase } from '../plugins/stores-backend/src/database/migrateDatabase';
import { StoreRepository } from '../plugins/stores-backend/src/database/StoreRepository';
import { EngineRegistry } from '../plugins/stores-backend/src/engines/EngineRegistry';
import { createWooCommerceEngine } from '../plugins/stores-backend/src/engines/woocommerceEngine';
import { packageChart } from '../plugins/stores-backend/src/kubernetes/bundledChart';
import { ReconcileLoop } from '../plugins/stores-backend/src/reconciler/ReconcileLoop';
import { StoreReconciler } from '../plugins/stores-backend/src/reconciler/StoreReconciler';
import { StoresService } from '../plugins/stores-backend/src/service/StoresService';
import { testConfigData } from '../packages/stores-test-utils/src';
import {
  CHART_DIR,
  fakeKubernetesClient,
} from '../plugins/stores-backend/src/__testUtils__/harness';
import {
  ClaimRecord,
  notDueClaims,
  overlappingClaims,
} from './reliability/BackendProcess';
import { startFakeKubernetes } from './throughput/fakeKubernetesProcess';

const STORES = Number(process.env.STORES ?? 500);
const REPLICAS = Number(process.env.REPLICAS ?? 1);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 4);
const DATABASE = process.env.BENCH_DATABASE ?? 'sqlite';

function quietLogger(claims: ClaimRecord[], replica: string): any {
  const logger = {
    info() {},
    warn() {},
    error(message: string) {
      process.stderr.write(`${message}\n`);
    },
    debug(message: string, meta?: Omit<ClaimRecord, 'replica'>) {
      if (message.startsWith('Released store') && meta)
        claims.push({ ...meta, replica });
    },
    child: () => logger,
  };
  return logger;
}

async function openDatabase(): Promise<{
  knex: Knex;
  label: string;
  close: () => Promise<void>;
}> {
  if (DATABASE === 'sqlite') {
    const knex = knexFactory({
      client: 'better-sqlite3',
      connection: ':memory:',
      useNullAsDefault: true,
    });
    return { knex, label: 'SQLite in memory', close: () => knex.destroy() };
  }
  const server =
    process.env.BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING;
  if (!server)
    throw new Error(
      'BENCH_DATABASE=postgres needs scripts/with-postgres.sh (it sets BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING)',
    );
  const name = `bench_${process.pid}_${Date.now().toString(36)}`;
  const admin = knexFactory({
    client: 'pg',
    connection: `${server}/postgres`,
  });
  await admin.raw(`create database ${name}`);
  const knex = knexFactory({ client: 'pg', connection: `${server}/${name}` });
  return {
    knex,
    label: 'PostgreSQL 15',
    close: async () => {
      await knex.destroy();
      await admin.raw(`drop database ${name}`);
      await admin.destroy();
    },
  };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function main() {
  const kube = await startFakeKubernetes();
  const database = await openDatabase();
  const { knex } = database;
  await migrateDatabase(knex);
  const config = readStoresConfig(
    new ConfigReader(
      testConfigData({
        healthCheck: {
          mode: 'url',
          urlTemplate: `${kube.url}/health/{namespace}`,
        },
        limits: {
          maxActiveStoresPerUser: 100000,
          maxActiveStoresPerOwner: 100000,
          createRate: { count: 100000, window: { seconds: 60 } },
        },
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
  const kubernetes = () => fakeKubernetesClient(kube.url, 10_000);
  const requestedAt = new Map<string, number>();
  const readyAfterMs: number[] = [];
  const failed: string[] = [];
  const onChange = (storeId: string, status: string) => {
    const since = requestedAt.get(storeId);
    if (since === undefined) return;
    if (status === 'Ready') {
      readyAfterMs.push(performance.now() - since);
      requestedAt.delete(storeId);
    } else if (status === 'Failed') failed.push(storeId);
  };
  const service = new StoresService({
    repository,
    engines,
    config,
    kubernetes,
    onChange: () => {},
    wakeReconciler: () => {},
    shippedChartVersion: async () => null,
  });
  const claims: ClaimRecord[] = [];
  const loops = Array.from({ length: REPLICAS }, (_, i) => {
    const logger = quietLogger(claims, `replica-${i}`);
    const reconciler = new StoreReconciler({
      repository,
      engines,
      config,
      logger,
      metrics,
      kubernetes,
      bundledChart: () => chart,
      onChange,
    });
    return new ReconcileLoop({
      repository,
      reconciler,
      logger,
      concurrency: CONCURRENCY,
      leaseMs: config.reconciler.leaseMs,
      eventRetentionMs: config.eventRetentionMs,
      createRateWindowMs: config.limits.createRate.windowMs,
      unfinishedRetryMs: config.reconciler.frequencyMs,
      replicaId: `replica-${i}`,
    });
  });

  let queries = 0;
  knex.on('query', () => void queries++);
  const fakeBefore = await kube.stats();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < STORES; i++) {
    const store = await service.createStore(
      { name: `bench-${i}`, owner: 'group:default/bench', plan: 'small' },
      `user:default/u${i % 50}`,
    );
    requestedAt.set(store.id, performance.now());
  }
  const createdMs = performance.now() - started;
  let passes = 0;
  while (requestedAt.size > failed.length) {
    const worked = await Promise.all(loops.map(loop => loop.runOnce()));
    passes++;
    // Nothing due: the stores wait for their next look (a wait step requeues after 3 s).
    if (worked.every(w => w === 0))
      await new Promise(resolve => setTimeout(resolve, 100));
  }
  const elapsedS = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const fakeAfter = await kube.stats();
  const backendCpuMs = (cpu.user + cpu.system) / 1000;
  const apiCalls = fakeAfter.requests - fakeBefore.requests;
  const overlaps = overlappingClaims(claims);
  const notDue = notDueClaims(claims);
  const sorted = [...readyAfterMs].sort((a, b) => a - b);

  const perStore = (value: number) => (value / STORES).toFixed(1);
  console.log(
    `stores: ${STORES}, replicas: ${REPLICAS} (in one process), concurrency per replica: ${CONCURRENCY}, database: ${database.label}, Kubernetes: HTTP fake in its own process`,
  );
  console.log(
    `all Ready after ${elapsedS.toFixed(1)} s (creates took ${(
      createdMs / 1000
    ).toFixed(1)} s); request → Ready p50 ${(
      percentile(sorted, 50) / 1000
    ).toFixed(1)} s, p99 ${(percentile(sorted, 99) / 1000).toFixed(
      1,
    )} s, max ${(sorted[sorted.length - 1] / 1000).toFixed(1)} s`,
  );
  console.log(
    `per store: backend CPU ${perStore(
      backendCpuMs,
    )} ms, database queries ${perStore(
      queries,
    )}, Kubernetes API calls ${perStore(apiCalls)}, claims ${perStore(
      claims.length,
    )} (fake's own CPU ${perStore(
      fakeAfter.cpuMs - fakeBefore.cpuMs,
    )} ms, not counted)`,
  );
  console.log(
    `reconcile passes: ${passes}, Ready: ${readyAfterMs.length}, Failed: ${failed.length}, overlapping claims: ${overlaps.length}, not-due claims: ${notDue.length}, most Helm Jobs in one namespace at once: ${fakeAfter.maxHelmJobsAtOnce}`,
  );
  if (failed.length > 0) {
    const example = await repository.getStore(failed[0]);
    console.error(`first failed store: ${example?.lastError}`);
  }
  kube.stop();
  await database.close();
  const broken = [
    readyAfterMs.length !== STORES &&
      `${STORES - readyAfterMs.length} stores not Ready`,
    overlaps.length > 0 && `${overlaps.length} overlapping claims`,
    notDue.length > 0 && `${notDue.length} claims of stores not due`,
    fakeAfter.maxHelmJobsAtOnce > 1 && 'two Helm Jobs in one namespace at once',
  ].filter(Boolean);
  if (broken.length > 0) {
    console.error(`bench: invariant broken: ${broken.join(', ')}`);
    process.exit(1);
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
