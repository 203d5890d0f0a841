/**
 * Benchmark on the real test control plane (etcd, kube-apiserver, controller-manager and the
 * kubelet stand-in that really runs helm): STORES stores requested at once, reconciled by
 * Storeplane's work queue (`ReconcileLoop`, started as the plugin starts it, with its watches
 * unless WATCH=0) as Storeplane's ServiceAccount under the chart's RBAC, on SQLite in memory.
 *
 * Prints, per run: detection (the Helm install Job complete → the store's next step, and all
 * workloads available → the next step; the moment is when an admin watch of this process saw
 * it), request → Ready, and per store the API requests of Storeplane's ServiceAccount (from
 * the API server's audit log), the database queries and this process's CPU. The bench learns
 * that a store is done from the runtime's change notifications, as the catalog and the UI do,
 * so no polling of its own is in the CPU figure. Exits 1 when a store is not Ready; never on a
 * timing.
 *
 *   flock /tmp/storeplane-heavy.lock ./scripts/yarn.sh bench:cluster              (1 store)
 *   STORES=50 flock /tmp/storeplane-heavy.lock ./scripts/yarn.sh bench:cluster
 *   WATCH=0 to poll only (as before the watches); CONCURRENCY (default 16), TICK (default 5 s:
 *   the scheduler's safety-net wake-up); PROFILE=file.cpuprofile writes a CPU profile of this
 *   process from the first request to the last store done (open it in Chrome's DevTools);
 *   TIMELINE=file.json writes each store's claims, events and API requests with their times.
 */
import { ConfigReader } from '@backstage/config';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { startTestCluster } from '@internal/test-cluster';
import knexFactory from 'knex';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { testConfigData } from '../packages/stores-test-utils/src';
import { readStoresConfig } from '../plugins/stores-backend/src/config/readStoresConfig';
import { createStoresRuntime } from '../plugins/stores-backend/src/createStoresRuntime';
import { migrateDatabase } from '../plugins/stores-backend/src/database/migrateDatabase';
import { isWorkloadAvailable } from '../plugins/stores-backend/src/reconciler/steps';
import { STORE_ID_LABEL } from '../plugins/stores-backend/src/reconciler/StoreWatches';
import {
  auditedRequests,
  kubernetesClientFromFile,
  renderStoreplaneRbac,
  startHealthStandIn,
  STOREPLANE_NAMESPACE,
} from '../plugins/stores-backend/src/__testUtils__/realCluster';

const STORES = Number(process.env.STORES ?? 1);
const WATCH = process.env.WATCH !== '0';
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);
const TICK_MS = Number(process.env.TICK ?? 5) * 1000;
const OWNER = 'group:default/team-a';
const USER = 'user:default/ann';

/** The claims log (who held which store when), for TIMELINE. */
const claims: Array<Record<string, unknown>> = [];

const quietLogger: any = {
  info() {},
  debug(message: string, meta?: Record<string, unknown>) {
    if (process.env.TIMELINE && message.startsWith('Released store'))
      claims.push(meta ?? {});
  },
  warn(message: string) {
    process.stderr.write(`warn: ${message}\n`);
  },
  error(message: string) {
    process.stderr.write(`error: ${message}\n`);
  },
  child: () => quietLogger,
};

/**
 * When this process first saw, through an admin watch, each store's Helm install Job complete
 * and all its workloads available.
 */
async function observeCluster(adminKubeconfig: string) {
  const kc = new KubeConfig();
  kc.loadFromFile(adminKubeconfig);
  const jobDoneAt = new Map<string, number>();
  const workloads = new Map<string, Map<string, boolean>>();
  const workloadsAvailableAt = new Map<string, number>();
  const requests: AbortController[] = [];
  const watch = async (path: string, onObject: (object: any) => void) => {
    requests.push(
      await new Watch(kc).watch(
        path,
        { labelSelector: STORE_ID_LABEL },
        (_type: string, object: any) => onObject(object),
        () => {},
      ),
    );
  };
  await watch('/apis/batch/v1/jobs', job => {
    const storeId = job.metadata?.labels?.[STORE_ID_LABEL];
    const complete = (job.status?.conditions ?? []).some(
      (c: any) => c.type === 'Complete' && c.status === 'True',
    );
    const install =
      job.metadata?.labels?.['storeplane.io/helm-operation'] === 'install';
    if (storeId && install && complete && !jobDoneAt.has(storeId))
      jobDoneAt.set(storeId, Date.now());
  });
  for (const [resource, kind] of [
    ['deployments', 'Deployment'],
    ['statefulsets', 'StatefulSet'],
  ]) {
    await watch(`/apis/apps/v1/${resource}`, object => {
      const storeId = object.metadata?.labels?.[STORE_ID_LABEL];
      if (!storeId) return;
      const states = workloads.get(storeId) ?? new Map<string, boolean>();
      workloads.set(storeId, states);
      states.set(
        `${kind}/${object.metadata.name}`,
        isWorkloadAvailable({ ...object, kind }),
      );
      const all = [...states.values()];
      if (
        all.length >= 2 &&
        all.every(Boolean) &&
        !workloadsAvailableAt.has(storeId)
      )
        workloadsAvailableAt.set(storeId, Date.now());
    });
  }
  return {
    jobDoneAt,
    workloadsAvailableAt,
    stop: () => requests.forEach(r => r.abort()),
  };
}

/**
 * CPU time of this process's children (the test control plane: etcd, kube-apiserver,
 * controller-manager and the kubelet stand-in, with the helm processes it ran and waited for),
 * from /proc, in ms.
 */
function controlPlaneCpuMs(): number {
  const ticksPerSecond = 100;
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the command name (which may hold spaces) in parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) !== process.pid) continue;
    // utime, stime, cutime, cstime: fields 14-17 of proc(5), 11-14 here.
    ticks += fields.slice(11, 15).reduce((sum, f) => sum + Number(f), 0);
  }
  return (ticks / ticksPerSecond) * 1000;
}

/** Starts a CPU profile of this process when PROFILE names a file; the returned stop writes it. */
async function startProfile(): Promise<() => Promise<void>> {
  const file = process.env.PROFILE;
  if (!file) return async () => {};
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[
    Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)
  ];
};
const seconds = (ms: number) => (ms / 1000).toFixed(2);
const spread = (values: number[]) =>
  values.length === 0
    ? 'n/a'
    : `p50 ${seconds(percentile(values, 50))} s, p99 ${seconds(
        percentile(values, 99),
      )} s, max ${seconds(Math.max(...values))} s (${values.length})`;

async function main() {
  const cluster = await startTestCluster();
  const health = await startHealthStandIn();
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: ':memory:',
    useNullAsDefault: true,
  });
  let observer: Awaited<ReturnType<typeof observeCluster>> | undefined;
  try {
    const admin = kubernetesClientFromFile(cluster.adminKubeconfigPath);
    await admin.apply({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: STOREPLANE_NAMESPACE },
    });
    const rbac = renderStoreplaneRbac();
    for (const object of rbac.objects) await admin.apply(object);
    const kubeconfig = await cluster.kubeconfigForServiceAccount(
      STOREPLANE_NAMESPACE,
      rbac.serviceAccount,
    );
    const serviceAccount = `system:serviceaccount:${STOREPLANE_NAMESPACE}:${rbac.serviceAccount}`;
    observer = await observeCluster(cluster.adminKubeconfigPath);

    await migrateDatabase(knex);
    const config = readStoresConfig(
      new ConfigReader(
        testConfigData({
          kubernetes: {
            requestTimeout: { seconds: 10 },
            rbac: {
              serviceAccount: {
                namespace: STOREPLANE_NAMESPACE,
                name: rbac.serviceAccount,
              },
              storeManagerClusterRole: rbac.storeManagerRole,
              storeInstallerClusterRole: rbac.storeInstallerRole,
            },
          },
          healthCheck: {
            mode: 'url',
            urlTemplate: `${health.url}/{namespace}`,
          },
          reconciler: {
            frequency: { milliseconds: TICK_MS },
            watch: { enabled: WATCH },
          },
          helm: { timeout: '5m' },
          // One requester asks for every store at once: the per-user limits must admit them.
          limits: {
            maxActiveStoresPerUser: Math.max(100, STORES),
            maxActiveStoresPerOwner: Math.max(100, STORES),
            createRate: {
              count: Math.max(100, STORES),
              window: { seconds: 60 },
            },
          },
        }),
      ),
    );
    const client = kubernetesClientFromFile(kubeconfig, 10_000);
    const finished = new Set<string>();
    let allFinished: () => void = () => {};
    const done = new Promise<void>(resolve => {
      allFinished = resolve;
    });
    let ids: string[] = [];
    const checkFinished = () => {
      if (ids.length === STORES && ids.every(id => finished.has(id)))
        allFinished();
    };
    const onChange = (storeId: string, status: string) => {
      if (status !== 'Ready' && status !== 'Failed') return;
      finished.add(storeId);
      checkFinished();
    };
    const { service, loop, watches, repository } = createStoresRuntime({
      knex,
      config,
      logger: quietLogger,
      kubernetes: () => client,
      metrics: () => ({
        recordProvisioned() {},
        recordReconcileError() {},
        recordRetry() {},
      }),
      onChange,
      concurrency: CONCURRENCY,
    });
    loop.start();
    watches?.start();
    const tick = setInterval(() => loop.wake(), TICK_MS);
    if (watches) {
      const deadline = Date.now() + 30_000;
      while (!Object.values(watches.held()).every(Boolean)) {
        if (Date.now() > deadline)
          throw new Error(
            `watches not held: ${JSON.stringify(watches.held())}`,
          );
        await new Promise(resolve => setTimeout(resolve, 100));
      }
    }

    let queries = 0;
    const queriesBySql = new Map<string, number>();
    knex.on('query', (query: { sql: string }) => {
      queries++;
      if (process.env.VERBOSE) {
        const sql = query.sql.slice(0, 70);
        queriesBySql.set(sql, (queriesBySql.get(sql) ?? 0) + 1);
      }
    });
    const stopProfile = await startProfile();
    const since = Date.now();
    const cpuBefore = process.cpuUsage();
    const controlPlaneCpuBefore = controlPlaneCpuMs();
    ids = await Promise.all(
      Array.from(
        { length: STORES },
        async (_, i) =>
          (
            await service.createStore(
              { name: `bench-${i}`, owner: OWNER, plan: 'small' },
              USER,
            )
          ).id,
      ),
    );
    checkFinished();
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([
      done,
      new Promise((_, reject) => {
        timeout = setTimeout(
          () =>
            reject(
              new Error(
                `stores not Ready in time: ${
                  STORES - finished.size
                } not Ready or Failed`,
              ),
            ),
          15 * 60_000,
        );
      }),
    ]);
    clearTimeout(timeout);
    const allDoneAt = Date.now();
    const cpu = process.cpuUsage(cpuBefore);
    const queriesDuringRun = queries;
    const statementsDuringRun = [...queriesBySql].sort((a, b) => b[1] - a[1]);
    await stopProfile();
    const controlPlaneCpu = controlPlaneCpuMs() - controlPlaneCpuBefore;
    clearInterval(tick);
    watches?.stop();
    await loop.stop();

    const stores = await Promise.all(ids.map(id => repository.getStore(id)));
    const notReady = stores.filter(s => s?.status !== 'Ready');
    const toReady: number[] = [];
    const jobDetection: number[] = [];
    const workloadsDetection: number[] = [];
    for (const store of stores) {
      if (!store) continue;
      if (store.readyAt) toReady.push(store.readyAt - store.createdAt);
      const events = await repository.listEvents(store.id, 100);
      const at = (type: string) => events.find(e => e.type === type)?.createdAt;
      const jobDone = observer.jobDoneAt.get(store.id);
      const installed = at('helm.install.succeeded');
      if (jobDone && installed) jobDetection.push(installed - jobDone);
      const available = observer.workloadsAvailableAt.get(store.id);
      const next = at('workloads.available');
      // helm --wait makes workloads available before its Job completes: the workloads step
      // can only notice them once the Helm step is done.
      if (available && installed && next)
        workloadsDetection.push(next - Math.max(available, installed));
    }
    // The audit log is written as requests complete; give the last lines a moment.
    await new Promise(resolve => setTimeout(resolve, 1000));
    const calls = auditedRequests(cluster.auditLogPath!, serviceAccount, since);
    // A store's first step starts with a request about its namespace; the time from the
    // store's request to that call is how long it waited for a worker.
    const firstStepWaits = stores.flatMap(store => {
      const first = calls.find(
        c =>
          c.namespace === store?.namespace ||
          (c.resource === 'namespaces' && c.name === store?.namespace),
      );
      return store && first ? [first.receivedAt - store.createdAt] : [];
    });
    const watchCalls = calls.filter(
      c => c.verb === 'watch' || (c.verb === 'list' && !c.namespace),
    ).length;
    const byVerb = new Map<string, number>();
    for (const c of calls)
      byVerb.set(
        `${c.verb} ${c.resource}`,
        (byVerb.get(`${c.verb} ${c.resource}`) ?? 0) + 1,
      );

    const cpuMs = (cpu.user + cpu.system) / 1000;
    const print = (label: string, value: string) =>
      process.stdout.write(`${label.padEnd(40)} ${value}\n`);
    print(
      'run',
      `${STORES} stores, watches ${
        WATCH ? 'on' : 'off'
      }, concurrency ${CONCURRENCY}, tick ${TICK_MS / 1000} s, SQLite`,
    );
    print('all Ready', `${seconds(allDoneAt - since)} s`);
    print('request → Ready', spread(toReady));
    print('request → first step', spread(firstStepWaits));
    print('Job complete → next step', spread(jobDetection));
    print('workloads available → next step', spread(workloadsDetection));
    print(
      'API requests per store',
      `${(calls.length / STORES).toFixed(1)} (watch list/watch: ${watchCalls})`,
    );
    print('database queries per store', (queriesDuringRun / STORES).toFixed(1));
    print('backend CPU per store', `${(cpuMs / STORES).toFixed(0)} ms`);
    print(
      'control plane CPU per store',
      `${(controlPlaneCpu / STORES).toFixed(0)} ms`,
    );
    if (process.env.VERBOSE)
      for (const [call, count] of [...byVerb].sort((a, b) => b[1] - a[1]))
        print(`  ${call}`, String(count));
    if (process.env.VERBOSE)
      for (const [sql, count] of statementsDuringRun) print(`  ${count}`, sql);
    if (process.env.TIMELINE) {
      const timeline = await Promise.all(
        stores.map(async store => ({
          id: store?.id,
          namespace: store?.namespace,
          createdAt: store?.createdAt,
          claims: claims.filter(c => c.storeId === store?.id),
          events: (
            await repository.listEvents(store!.id, 100)
          ).map(e => ({
            type: e.type,
            at: e.createdAt,
          })),
          calls: calls.filter(
            c =>
              c.namespace === store?.namespace || c.name === store?.namespace,
          ),
        })),
      );
      writeFileSync(process.env.TIMELINE, JSON.stringify({ since, timeline }));
    }
    if (notReady.length > 0) {
      process.stderr.write(
        `${notReady.length} stores not Ready: ${notReady
          .slice(0, 3)
          .map(s => `${s?.id} ${s?.status} ${s?.lastError}`)
          .join('; ')}\n`,
      );
      process.exitCode = 1;
    }
  } finally {
    observer?.stop();
    await knex.destroy();
    await health.close();
    await cluster.stop();
  }
}

main().catch(error => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});
