/**
 * Replicas as separate processes: REPLICAS (default 3) real backends (bench/reliability/
 * backend.ts: Backstage's backend with the stores plugin) on one PostgreSQL, against the
 * Kubernetes fake in its own process with FAKE_LATENCY_MS (default 20) added to every answer,
 * so the work waits on I/O as it does against an API server. STORES (default 200) are created
 * through `POST /api/stores/stores`, spread over the replicas. Prints the time until all are
 * Ready, stores per second, the backends' CPU per store (their sum, from /proc), API calls per
 * store, claims per replica and overlapping claims. Exits 1 when a store is not Ready or two
 * claims of a store overlap or a claim takes a store that was not due. Run with REPLICAS=1 and
 * REPLICAS=3 to compare. SEEDED (default 0) Ready stores, not due for a week, are written to the
 * database first, so the backends' resident memory (printed, now and peak) is that of a table
 * of SEEDED + STORES rows with STORES in flight.
 *
 *   ./scripts/with-postgres.sh ./scripts/yarn.sh bench:replicas
 *   ./scripts/with-postgres.sh env REPLICAS=1 STORES=500 SEEDED=9500 ./scripts/yarn.sh bench:replicas
 */
import knexFactory from 'knex';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
const SEEDED = Number(process.env.SEEDED ?? 0);
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

function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .split(') ')[1]
    .split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function main() {
  const server =
    process.env.BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING;
  if (!server)
    throw new Error(
      'Run through scripts/with-postgres.sh (it sets BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING)',
    );
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'storeplane-replicas-'));
  const prefix = `replicas_${Date.now().toString(36)}_`;
  const kube = await startFakeKubernetes({ latencyMs: LATENCY_MS });
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
            frequency: { seconds: 1 },
            concurrency: 4,
            lease: { seconds: 30 },
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
    const started = Date.now();
    await Promise.all(
      Array.from({ length: STORES }, (_, i) =>
        createStoreViaApi(backends[i % REPLICAS].baseUrl, `replica-${i}`),
      ),
    );
    let ready = 0;
    const deadline = started + 10 * 60_000;
    while (ready < STORES && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 250));
      const [{ count }] = await stores('stores')
        .where('status', 'Ready')
        .andWhereNot('id', 'like', 'seeded-%')
        .count({ count: '*' });
      ready = Number(count);
    }
    const elapsedS = (Date.now() - started) / 1000;
    const memory = backends.map(b => residentMiB(b.pid!));
    const cpuMs = backends.reduce(
      (sum, b, i) => sum + processCpuMs(b.pid!) - cpuBefore[i],
      0,
    );
    const fakeAfter = await kube.stats();
    await stores.destroy();
    const claims = backends.flatMap(b => b.claims);
    const overlaps = overlappingClaims(claims);
    const notDue = notDueClaims(claims);
    console.log(
      `stores: ${STORES} (besides ${SEEDED} Ready ones not due), replicas: ${REPLICAS} backend processes on PostgreSQL 15, Kubernetes fake with ${LATENCY_MS} ms per request`,
    );
    console.log(
      `all Ready after ${elapsedS.toFixed(1)} s: ${(ready / elapsedS).toFixed(
        1,
      )} stores/s; Ready: ${ready}`,
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
