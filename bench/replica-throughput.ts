/**
 * Replicas as separate processes: REPLICAS (default 3) real backends (bench/reliability/
 * backend.ts: Backstage's backend with the stores plugin, the shipped reconciler concurrency
 * unless CONCURRENCY is set, per replica) on one PostgreSQL, against the Kubernetes fake in its
 * own process. The fake plays a cluster: every answer waits FAKE_LATENCY_MS (default 20, an API
 * server's round trip), a Helm Job runs FAKE_JOB_MS (default 5000: a pod scheduled, its image
 * cached, `helm install` without --wait) and the install's workloads become available
 * FAKE_ROLLOUT_MS (default 15000: WordPress and MariaDB passing their readiness probes) after
 * it, on timers as a cluster's controllers would, and serves watches, so waiting stores are woken
 * by their changes (FAKE_WATCHES=0: a fake that serves none and moves on only when asked, so
 * waiting stores are polled, as when a watch cannot be held). STORES (default 200) are
 * created through `POST /api/stores/stores`, spread over the replicas (SEND_TO=spread) or all
 * sent to the first (SEND_TO=one, which shows whether the others are woken: NOTIFY=0 turns
 * `storeplane.reconciler.notify` off); each replica's safety-net tick is TICK_S (default 5, the
 * shipped `frequency`).
 *
 * Throughput is the steady state, measured on the work done rather than on Ready times: the
 * rate of the fake's API requests between the moments 10 % and 90 % of the run's requests were
 * answered, divided by the requests per store (stores/s). Ready times would not do: the queue
 * is fair (every store's first step before anyone's third), so stores go through their steps
 * side by side and become Ready in one bunch at the end, however fast the replicas work. The
 * figure is the replicas' capacity when STORES is large enough to keep every worker busy: a
 * store holds a worker for its API calls (about 40, each FAKE_LATENCY_MS) and not while it
 * waits for its Job or rollout, so one replica's I/O-bound capacity is about
 * CONCURRENCY / (40 × FAKE_LATENCY_MS) stores/s, if the machine has the CPU for it (printed:
 * compare "machine busy" with the cores). "All Ready" is bounded below by the cluster's own time
 * for one store (Job + rollout + polls), which no number of replicas shortens.

 * Also prints the time until all are Ready, request → Ready p50/max, the backends' CPU per
 * store (their sum, from /proc), API calls per store, claims per replica, overlapping claims,
 * and what bounds the run: the machine's busy CPU (/proc/stat, all cores) and its share taken
 * by the backends, PostgreSQL and the fake, the fake's most requests in flight and its
 * event-loop delay. Exits 1 when a store is not Ready or two claims of a store overlap or a
 * claim takes a store that was not due. Run with REPLICAS=1 and REPLICAS=3 to compare. SEEDED
 * (default 0) Ready stores, not due for a week, are written to the database first, so the
 * backends' resident memory (printed, now and peak) is that of a table of SEEDED + STORES rows
 * with STORES in flight.
 *
 *   ./scripts/with-postgres.sh ./scripts/yarn.sh bench:replicas
 *   ./scripts/with-postgres.sh env REPLICAS=1 STORES=500 SEEDED=9500 ./scripts/yarn.sh bench:replicas
 *   ./scripts/with-postgres.sh env REPLICAS=3 SEND_TO=one NOTIFY=0 ./scripts/yarn.sh bench:replicas
 */
import knexFactory from 'knex';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BackendProcess,
  notDueClaims,
  overlappingClaims,
} from './reliability/BackendProcess';
import {
  BENCH_SUBJECT,
  benchBackendSection,
  createStoreViaApi,
  freePort,
  UNREACHED_LIMITS,
} from './reliability/environment';
import { startFakeKubernetes } from './throughput/fakeKubernetesProcess';

const STORES = Number(process.env.STORES ?? 200);
const REPLICAS = Number(process.env.REPLICAS ?? 3);
const LATENCY_MS = Number(process.env.FAKE_LATENCY_MS ?? 20);
const JOB_MS = Number(process.env.FAKE_JOB_MS ?? 5000);
const ROLLOUT_MS = Number(process.env.FAKE_ROLLOUT_MS ?? 15000);
const SEEDED = Number(process.env.SEEDED ?? 0);
const TICK_S = Number(process.env.TICK_S ?? 5);
const NOTIFY = process.env.NOTIFY !== '0';
const SEND_TO = process.env.SEND_TO ?? 'spread';
if (SEND_TO !== 'spread' && SEND_TO !== 'one')
  throw new Error(`SEND_TO is 'spread' or 'one', not '${SEND_TO}'`);
const CONCURRENCY = process.env.CONCURRENCY
  ? Number(process.env.CONCURRENCY)
  : undefined;
const DAY = 24 * 60 * 60_000;

/** Resident memory of a process now and at its peak, in MiB (Linux /proc). */
function residentMiB(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mib = (field: string) =>
    Math.round(
      Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]) / 1024,
    );
  return { now: mib('VmRSS'), peak: mib('VmHWM') };
}

/** Ready stores that are not due for a week: rows the backends hold but do not work on. */
function seededStores(now: number) {
  return Array.from({ length: SEEDED }, (_, i) => {
    const id = `seeded-${String(i).padStart(5, '0')}`;
    return {
      id,
      name: id,
      owner: `group:default/team-${i % 50}`,
      created_by: `user:default/u${i % 100}`,
      engine: 'woocommerce',
      plan: 'small',
      desired_state: 'present',
      status: 'Ready',
      namespace: `store-${id}`,
      storefront_url: `https://${id}.stores.example.com`,
      admin_url: `https://${id}.stores.example.com/wp-admin`,
      generation: 1,
      attempts: 0,
      next_attempt_at: now + 7 * DAY,
      step_started_at: now - DAY + i,
      created_at: now - DAY + i,
      updated_at: now - DAY + i,
      ready_at: now - DAY + i,
      reached_cluster_at: now - DAY + i,
    };
  });
}

const CLOCK_TICKS_PER_S = 100;

function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .split(') ')[1]
    .split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
}

/** CPU time of every PostgreSQL process now, by pid (server and connections). */
function postgresCpuMs(): Map<number, number> {
  const cpu = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.includes(' (postgres) '))
        cpu.set(Number(entry), processCpuMs(Number(entry)));
    } catch {
      // The process ended meanwhile.
    }
  }
  return cpu;
}

/** CPU used by PostgreSQL processes between two readings (those that ended are not counted). */
function postgresCpuBetween(
  before: Map<number, number>,
  after: Map<number, number>,
): number {
  let sum = 0;
  for (const [pid, ms] of after) sum += ms - (before.get(pid) ?? 0);
  return sum;
}

/** The machine's busy and total CPU time, all cores (/proc/stat), in ms. */
function machineCpuMs(): { busy: number; total: number } {
  const ticks = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .split(/\s+/)
    .slice(1, 9)
    .map(Number);
  const idle = ticks[3] + ticks[4];
  const total = ticks.reduce((sum, t) => sum + t, 0);
  const ms = (t: number) => (t * 1000) / CLOCK_TICKS_PER_S;
  return { busy: ms(total - idle), total: ms(total) };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];

async function main() {
  const server =
    process.env.BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING;
  if (!server)
    throw new Error(
      'Run through scripts/with-postgres.sh (it sets BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING)',
    );
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'storeplane-replicas-'));
  const prefix = `replicas_${Date.now().toString(36)}_`;
  const kube = await startFakeKubernetes({
    latencyMs: LATENCY_MS,
    jobMs: JOB_MS,
    rolloutMs: ROLLOUT_MS,
  });
  const backends: BackendProcess[] = [];
  const admin = knexFactory({ client: 'pg', connection: `${server}/postgres` });
  try {
    for (let i = 0; i < REPLICAS; i++) {
      const port = await freePort();
      const configFile = path.join(workDir, `replica-${i}.json`);
      BackendProcess.writeConfig(configFile, {
        backend: benchBackendSection(port, {
          client: 'pg',
          connection: server,
          prefix,
        }),
        permission: { enabled: false },
        storeplane: {
          kubernetes: {
            source: 'url',
            url: kube.url,
            token: 'fake-token',
            skipTLSVerify: true,
            requestTimeout: { seconds: 10 },
          },
          ingress: { baseDomain: 'stores.example.com' },
          healthCheck: {
            mode: 'url',
            urlTemplate: `${kube.url}/health/{namespace}`,
          },
          reconciler: {
            frequency: { seconds: TICK_S },
            ...(CONCURRENCY ? { concurrency: CONCURRENCY } : {}),
            lease: { seconds: 30 },
            notify: { enabled: NOTIFY },
          },
          orphanSweep: { enabled: false },
          permissions: { allowedServices: [BENCH_SUBJECT] },
          limits: UNREACHED_LIMITS,
          plans: {
            small: {
              cpu: '250m',
              memory: '256Mi',
              storage: '2Gi',
              replicas: 1,
            },
          },
        },
      });
      backends.push(new BackendProcess(`replica-${i}`, port, configFile));
    }
    // One at a time: the first creates the database and runs the migrations.
    for (const backend of backends) await backend.start();
    const stores = knexFactory({
      client: 'pg',
      connection: `${server}/${prefix}stores`,
      pool: { min: 0, max: 1 },
    });
    await stores.batchInsert('stores', seededStores(Date.now()), 200);
    const fakeBefore = await kube.stats();
    const cpuBefore = backends.map(b => processCpuMs(b.pid!));
    const postgresBefore = postgresCpuMs();
    const machineBefore = machineCpuMs();
    const started = Date.now();
    await Promise.all(
      Array.from({ length: STORES }, (_, i) =>
        createStoreViaApi(
          backends[SEND_TO === 'one' ? 0 : i % REPLICAS].baseUrl,
          `replica-${i}`,
        ),
      ),
    );
    let ready = 0;
    const deadline = started + 10 * 60_000;
    // The fake's requests answered so far, sampled with the Ready count.
    const answered: Array<{ at: number; requests: number }> = [];
    while (ready < STORES && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 250));
      answered.push({
        at: Date.now(),
        requests: (await kube.stats()).requests,
      });
      const [{ count }] = await stores('stores')
        .where('status', 'Ready')
        .andWhereNot('id', 'like', 'seeded-%')
        .count({ count: '*' });
      ready = Number(count);
    }
    const elapsedS = (Date.now() - started) / 1000;
    const machineAfter = machineCpuMs();
    const postgresMs = postgresCpuBetween(postgresBefore, postgresCpuMs());
    const memory = backends.map(b => residentMiB(b.pid!));
    const cpuMs = backends.reduce(
      (sum, b, i) => sum + processCpuMs(b.pid!) - cpuBefore[i],
      0,
    );
    const fakeAfter = await kube.stats();
    answered.push({ at: Date.now(), requests: fakeAfter.requests });
    const timings: Array<{ created_at: number; ready_at: number }> =
      await stores('stores')
        .whereNotNull('ready_at')
        .andWhereNot('id', 'like', 'seeded-%')
        .select('created_at', 'ready_at');
    await stores.destroy();
    const toReadyS = timings
      .map(t => (Number(t.ready_at) - Number(t.created_at)) / 1000)
      .sort((a, b) => a - b);
    const readyAt = timings.map(t => Number(t.ready_at)).sort((a, b) => a - b);
    const drainS = (readyAt[readyAt.length - 1] - readyAt[0]) / 1000;
    const requestsPerStore =
      (fakeAfter.requests - fakeBefore.requests) / STORES;
    const whenAnswered = (share: number) =>
      answered.find(
        sample =>
          sample.requests - fakeBefore.requests >=
          share * (fakeAfter.requests - fakeBefore.requests),
      )!;
    const [from, to] = [whenAnswered(0.1), whenAnswered(0.9)];
    const steadyS = (to.at - from.at) / 1000;
    const steadyPerS =
      (to.requests - from.requests) / requestsPerStore / steadyS;
    const firstClaimS = (replica: string) => {
      const times = backends
        .find(b => b.name === replica)!
        .claims.map(c => c.claimedAt);
      return times.length
        ? `${((Math.min(...times) - started) / 1000).toFixed(1)} s`
        : 'none';
    };
    const wallMs = elapsedS * 1000;
    const cores = os.cpus().length;
    const share = (ms: number) => `${((ms / wallMs) * 100).toFixed(0)} %`;
    const claims = backends.flatMap(b => b.claims);
    const overlaps = overlappingClaims(claims);
    const notDue = notDueClaims(claims);
    console.log(
      `stores: ${STORES} (besides ${SEEDED} Ready ones not due), replicas: ${REPLICAS} backend processes on PostgreSQL 15 (reconciler concurrency ${
        CONCURRENCY ?? 'shipped default'
      }), tick ${TICK_S} s, notify ${NOTIFY ? 'on' : 'off'}, creates ${
        SEND_TO === 'one' ? 'all sent to replica-0' : 'spread over the replicas'
      }; Kubernetes fake with ${LATENCY_MS} ms per request, Helm Jobs running ${JOB_MS} ms, workloads available ${ROLLOUT_MS} ms after the install, ${
        fakeAfter.watches ? 'watches served' : 'no watches (stores polled)'
      }`,
    );
    console.log(
      `throughput (steady state: API requests answered between 10 % and 90 % of the run's, per store): ${steadyPerS.toFixed(
        2,
      )} stores/s (${((to.requests - from.requests) / steadyS).toFixed(
        0,
      )} requests/s over ${steadyS.toFixed(
        1,
      )} s); first claim after the creates began: ${backends
        .map(b => `${b.name} ${firstClaimS(b.name)}`)
        .join(', ')}`,
    );
    console.log(
      `all Ready after ${elapsedS.toFixed(1)} s: ${(ready / elapsedS).toFixed(
        1,
      )} stores/s; Ready: ${ready}; request → Ready p50 ${percentile(
        toReadyS,
        50,
      ).toFixed(1)} s, max ${toReadyS[toReadyS.length - 1].toFixed(
        1,
      )} s; first to last Ready ${drainS.toFixed(1)} s (${(
        (readyAt.length - 1) /
        drainS
      ).toFixed(1)} stores/s)`,
    );
    console.log(
      `CPU over the run, in cores' time per wall time (${cores} cores, load average ${os
        .loadavg()
        .map(l => l.toFixed(2))
        .join(' ')}): machine busy ${share(
        machineAfter.busy - machineBefore.busy,
      )} of ${cores * 100} %; backends ${share(cpuMs)}, PostgreSQL ${share(
        postgresMs,
      )}, Kubernetes fake ${share(
        fakeAfter.cpuMs - fakeBefore.cpuMs,
      )}; the fake's most requests in flight ${
        fakeAfter.maxInFlight
      }, its event-loop delay p99 ${fakeAfter.eventLoopDelayP99Ms.toFixed(
        1,
      )} ms`,
    );
    console.log(
      `per store: backend CPU ${(cpuMs / STORES).toFixed(
        1,
      )} ms (all replicas), Kubernetes API calls ${(
        (fakeAfter.requests - fakeBefore.requests) /
        STORES
      ).toFixed(1)}; claims: ${claims.length} (${backends
        .map(b => `${b.name} ${b.claims.length}`)
        .join(', ')}), overlapping claims: ${
        overlaps.length
      }, not-due claims: ${notDue.length}`,
    );
    console.log(
      `backend resident memory with ${
        SEEDED + STORES
      } stores, ${STORES} of them in flight: ${backends
        .map(
          (b, i) =>
            `${b.name} ${memory[i].now} MiB (peak ${memory[i].peak} MiB)`,
        )
        .join(', ')}`,
    );
    if (ready < STORES || overlaps.length > 0 || notDue.length > 0) {
      console.error(
        `bench: invariant broken: ${STORES - ready} stores not Ready, ${
          overlaps.length
        } overlapping claims, ${notDue.length} claims of stores not due`,
      );
      process.exitCode = 1;
    }
  } finally {
    for (const backend of backends) await backend.kill();
    kube.stop();
    const names = await admin.raw(
      'select datname from pg_database where datname like ?',
      [`${prefix}%`],
    );
    for (const { datname } of names.rows)
      await admin.raw(`drop database "${datname}" with (force)`);
    await admin.destroy();
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
