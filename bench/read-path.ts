/**
 * Benchmark of the REST read path at 10,000 stores: a real backend process (Backstage's
 * backend with the stores plugin, the permission backend with Storeplane's owner policy and
 * guest sign-in, bench/readPath/backend.ts) on SQLite or PostgreSQL, its database seeded with
 * STORES stores (3 events each) before it starts. autocannon drives each read route with 4 and
 * 16 connections for DURATION seconds each and prints p50/p99 latency and the backend's CPU per
 * request (from /proc, the backend process only), after the idle backend's CPU over IDLE seconds
 * (default 30). Exits 1 when a route answers anything but
 * 2xx. Not part of the test command (about 2 minutes per database).
 *
 *   ./scripts/yarn.sh bench:read                                         (SQLite)
 *   ./scripts/with-postgres.sh env BENCH_DATABASE=postgres ./scripts/yarn.sh bench:read
 *   STORES=10000 DURATION=10 CONNECTIONS=4,16 IDLE=30 ONLY=<route labels> to change (ONLY: the routes
 *   whose label starts with one of its `;`-separated prefixes); PROFILE=1 writes a CPU profile of the
 *   backend (node --cpu-prof) into the work directory, which is then kept. DECISION_CACHE_TTL
 *   sets storeplane.permissions.decisionCacheTtl (default: the plugin's, 5s; `0s` asks the
 *   permission backend on every request). On PostgreSQL the seeded tables are vacuumed and
 *   analyzed first, as autovacuum would (VACUUM=0: not).
 * The backend runs with NODE_ENV=production, as deployed: no response validation.
 */
import autocannon from 'autocannon';
import knexFactory, { Knex } from 'knex';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrateDatabase } from '../plugins/stores-backend/src/database/migrateDatabase';
import { BackendProcess } from './reliability/BackendProcess';
import { benchBackendSection, freePort } from './reliability/environment';

const STORES = Number(process.env.STORES ?? 10_000);
const DURATION = Number(process.env.DURATION ?? 10);
const CONNECTIONS = (process.env.CONNECTIONS ?? '4,16').split(',').map(Number);
const DATABASE = process.env.BENCH_DATABASE ?? 'sqlite';
const PROFILE = process.env.PROFILE === '1';
const IDLE = Number(process.env.IDLE ?? 30);
/** Only the routes whose label starts with one of these (`;`-separated), e.g. `GET /stores?limit=50`. */
const ONLY = process.env.ONLY?.split(';');
const DECISION_CACHE_TTL = process.env.DECISION_CACHE_TTL;
/** PostgreSQL: vacuum and analyze the seeded tables, as autovacuum would (VACUUM=0: leave them fresh). */
const STATS = process.env.VACUUM !== '0';

const SERVICE_TOKEN = 'read-path-bench-0123456789abcdef';
const SERVICE_SUBJECT = 'read-path-bench';
const USER = 'user:default/guest';
/** One store in 20 is the signed-in user's; the rest belong to 50 groups. */
const ownerOf = (i: number) =>
  i % 20 === 0 ? USER : `group:default/team-${i % 50}`;
const storeId = (i: number) => `bench-${String(i).padStart(5, '0')}`;
const DAY = 24 * 60 * 60_000;

async function seed(knex: Knex) {
  const now = Date.now();
  const stores = Array.from({ length: STORES }, (_, i) => ({
    id: storeId(i),
    name: `bench-${i}`,
    description: null,
    owner: ownerOf(i),
    created_by: i % 20 === 0 ? USER : `user:default/u${i % 100}`,
    engine: 'woocommerce',
    plan: i % 3 === 0 ? 'medium' : 'small',
    desired_state: 'present',
    status: i % 100 === 1 ? 'Failed' : 'Ready',
    step: null,
    namespace: `store-${storeId(i)}`,
    storefront_url: `https://${storeId(i)}.stores.example.com`,
    admin_url: `https://${storeId(i)}.stores.example.com/wp-admin`,
    generation: 1,
    attempts: 0,
    // Not due for a week: the backend stays idle while the bench reads.
    next_attempt_at: now + 7 * DAY,
    step_started_at: now - DAY + i,
    created_at: now - DAY + i,
    updated_at: now - DAY + i,
    ready_at: now - DAY + i,
    reached_cluster_at: now - DAY + i,
  }));
  await knex.batchInsert('stores', stores, 200);
  const events = stores.flatMap(store =>
    ['requested', 'helmInstalled', 'ready'].map((type, k) => ({
      store_id: store.id,
      created_at: store.created_at + k,
      type,
      level: 'info',
      message: `${type} (seeded)`,
      actor: k === 0 ? store.created_by : null,
    })),
  );
  // SQLite takes at most 500 rows in one compound insert.
  await knex.batchInsert('store_events', events, 200);
}

/** User plus system CPU of a process so far, in milliseconds (Linux /proc). */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .split(') ')[1]
    .split(' ');
  // utime and stime, fields 14 and 15 of stat, counted from the state field (3).
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

/** Resident memory of a process now and at its peak, in MiB (Linux /proc). */
function residentMiB(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mib = (field: string) =>
    Math.round(
      Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]) / 1024,
    );
  return { now: mib('VmRSS'), peak: mib('VmHWM') };
}

/** The `nextCursor` of a page of 200 from `offset`, to read deep pages by cursor. */
async function cursorAt(
  baseUrl: string,
  authorization: string,
  route: string,
  offset: number,
): Promise<string> {
  const response = await fetch(
    `${baseUrl}/api/stores${route}${
      route.includes('?') ? '&' : '?'
    }offset=${offset}&limit=200`,
    { headers: { authorization } },
  );
  const body = (await response.json()) as { nextCursor?: string | null };
  if (!response.ok || !body.nextCursor)
    throw new Error(
      `no cursor at ${offset} of ${route}: HTTP ${response.status}`,
    );
  return encodeURIComponent(body.nextCursor);
}

async function guestToken(baseUrl: string): Promise<string> {
  const response = await fetch(
    `${baseUrl}/api/auth/guest/refresh?env=development`,
    { headers: { 'x-requested-with': 'XMLHttpRequest' } },
  );
  if (!response.ok)
    throw new Error(
      `guest sign-in: HTTP ${response.status} ${await response.text()}`,
    );
  const body = (await response.json()) as any;
  return body.backstageIdentity.token;
}

async function main() {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'storeplane-read-path-'));
  const port = await freePort();
  let database: Record<string, unknown>;
  let storesDb: Knex;
  let dropDatabase = async () => {};
  if (DATABASE === 'sqlite') {
    database = { client: 'better-sqlite3', connection: { directory: workDir } };
    storesDb = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: path.join(workDir, 'stores.sqlite') },
      useNullAsDefault: true,
    });
  } else {
    const server =
      process.env.BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING;
    if (!server)
      throw new Error(
        'BENCH_DATABASE=postgres needs scripts/with-postgres.sh (it sets BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING)',
      );
    const prefix = `read_path_${Date.now().toString(36)}_`;
    database = { client: 'pg', connection: server, prefix };
    const admin = knexFactory({
      client: 'pg',
      connection: `${server}/postgres`,
    });
    await admin.raw(`create database ${prefix}stores`);
    storesDb = knexFactory({
      client: 'pg',
      connection: `${server}/${prefix}stores`,
    });
    dropDatabase = async () => {
      const names = await admin.raw(
        'select datname from pg_database where datname like ?',
        [`${prefix}%`],
      );
      for (const { datname } of names.rows)
        await admin.raw(`drop database "${datname}" with (force)`);
      await admin.destroy();
    };
  }
  const seeded = Date.now();
  await migrateDatabase(storesDb);
  await seed(storesDb);
  // What autovacuum does for a table this size within a minute of the load: statistics and a
  // visibility map, without which PostgreSQL cannot use an index-only scan. (SQLite gathers
  // none unless asked, and Backstage does not ask.)
  if (STATS && DATABASE !== 'sqlite') await storesDb.raw('vacuum analyze');
  await storesDb.destroy();
  const seedS = (Date.now() - seeded) / 1000;

  const configFile = path.join(workDir, 'app-config.json');
  BackendProcess.writeConfig(configFile, {
    app: { baseUrl: `http://127.0.0.1:${port}` },
    backend: benchBackendSection(port, database, {
      token: SERVICE_TOKEN,
      subject: SERVICE_SUBJECT,
    }),
    auth: {
      environment: 'development',
      providers: {
        guest: {
          userEntityRef: USER,
          ownershipEntityRefs: [USER],
          dangerouslyAllowOutsideDevelopment: true,
        },
      },
    },
    permission: { enabled: true },
    storeplane: {
      ingress: { baseDomain: 'stores.example.com' },
      permissions: {
        admins: ['group:default/platform-admins'],
        ...(DECISION_CACHE_TTL ? { decisionCacheTtl: DECISION_CACHE_TTL } : {}),
      },
      plans: {
        small: { cpu: '250m', memory: '256Mi', storage: '2Gi', replicas: 1 },
        medium: { cpu: '500m', memory: '512Mi', storage: '5Gi', replicas: 1 },
      },
      // Prices, so GET /costs/by-owner counts the stores instead of answering "no currency".
      cost: {
        currency: 'EUR',
        cpuCoreMonth: 20,
        memoryGiBMonth: 3,
        storageGiBMonth: 0.1,
      },
    },
  });
  const backend = new BackendProcess('read-path', port, configFile, 0, {
    entry: 'bench/readPath/backend.ts',
    logLevel: 'info',
    nodeArgs: PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${workDir}`] : [],
  });
  await backend.start().catch(async error => {
    console.error(
      backend.logTail
        .filter(line => !line.includes('/.backstage/health'))
        .slice(-30)
        .join('\n'),
    );
    // A backend whose startup failed may keep running.
    await backend.kill();
    throw error;
  });
  const failures: string[] = [];
  try {
    const user = `Bearer ${await guestToken(backend.baseUrl)}`;
    const service = `Bearer ${SERVICE_TOKEN}`;
    // One of the signed-in user's stores (every 20th), from the middle of the table.
    const ownStore = storeId(20 * Math.floor(STORES / 40));
    // Deep pages by cursor, from the middle of the list. The shipped policy lets every signed-in
    // user list every store, so the user's list is the service's.
    const middle = Math.floor(STORES / 2);
    const serviceCursor = await cursorAt(
      backend.baseUrl,
      service,
      '/stores',
      middle,
    );
    const userCursor = await cursorAt(backend.baseUrl, user, '/stores', middle);
    // What the catalog's incremental sync asks every minute when nothing changed.
    const lastMinute = encodeURIComponent(
      new Date(Date.now() - 60_000).toISOString(),
    );
    const routes: Array<[string, string, string]> = [
      [
        `GET /stores?limit=50 (all ${STORES} visible)`,
        service,
        '/stores?limit=50',
      ],
      [
        `GET /stores?limit=50 (the user: all ${STORES} visible)`,
        user,
        '/stores?limit=50',
      ],
      [
        'GET /stores?owner=…&limit=50',
        user,
        `/stores?owner=${encodeURIComponent(USER)}&limit=50`,
      ],
      [
        'GET /stores?status=Failed&limit=50',
        service,
        '/stores?status=Failed&limit=50',
      ],
      [
        `GET /stores?limit=50&cursor= (store ${middle} of ${STORES})`,
        service,
        `/stores?limit=50&cursor=${serviceCursor}`,
      ],
      [
        `GET /stores?limit=50&cursor= (the user: store ${middle} of ${STORES})`,
        user,
        `/stores?limit=50&cursor=${userCursor}`,
      ],
      [
        'GET /stores?updatedSince= (incremental sync, nothing changed)',
        service,
        `/stores?updatedSince=${lastMinute}&limit=100`,
      ],
      [
        'GET /deleted-stores?deletedSince= (incremental sync)',
        service,
        `/deleted-stores?deletedSince=${lastMinute}`,
      ],
      // Per-owner cost totals: a GROUP BY over every store the caller may list.
      [
        `GET /costs/by-owner (all ${STORES} visible)`,
        service,
        '/costs/by-owner',
      ],
      ['GET /costs/by-owner (the user)', user, '/costs/by-owner'],
      ['GET /stores/:id', user, `/stores/${ownStore}`],
      ['GET /stores/:id/events', user, `/stores/${ownStore}/events`],
      ['GET /plans (Backstage auth only: the floor)', user, '/plans'],
    ];
    console.log(
      `stores: ${STORES} (seeded in ${seedS.toFixed(
        1,
      )} s, 3 events each), database: ${
        DATABASE === 'sqlite' ? 'SQLite file' : 'PostgreSQL 15'
      }, tool: autocannon, ${DURATION} s per run, backend: one process (NODE_ENV=production), permission backend with Storeplane's policy, decision cache TTL ${
        DECISION_CACHE_TTL ?? 'default (5s)'
      }`,
    );
    // Idle first: the backend with STORES stores and nothing due (no catalog in this backend).
    await new Promise(resolve => setTimeout(resolve, 5_000));
    const idleBefore = processCpuMs(backend.pid!);
    await new Promise(resolve => setTimeout(resolve, IDLE * 1000));
    const idleCpuMs = processCpuMs(backend.pid!) - idleBefore;
    console.log(
      `idle backend: ${((idleCpuMs / (IDLE * 1000)) * 100).toFixed(
        1,
      )} % of a core over ${IDLE} s, resident memory ${
        residentMiB(backend.pid!).now
      } MiB`,
    );
    console.log(
      'route | connections | p50 ms | p99 ms | requests/s | backend CPU ms per request',
    );
    for (const [label, authorization, route] of routes) {
      if (ONLY && !ONLY.some(prefix => label.startsWith(prefix))) continue;
      for (const connections of CONNECTIONS) {
        const cpuBefore = processCpuMs(backend.pid!);
        const result = await autocannon({
          url: `${backend.baseUrl}/api/stores${route}`,
          connections,
          duration: DURATION,
          headers: { authorization },
        });
        const cpuMs = processCpuMs(backend.pid!) - cpuBefore;
        const total = result.requests.total;
        console.log(
          `${label} | ${connections} | ${result.latency.p50} | ${
            result.latency.p99
          } | ${result.requests.average.toFixed(0)} | ${(cpuMs / total).toFixed(
            2,
          )}`,
        );
        if (result.non2xx > 0 || result.errors > 0)
          failures.push(
            `${label}: ${result.non2xx} non-2xx answers, ${result.errors} errors`,
          );
      }
    }
    const memory = residentMiB(backend.pid!);
    console.log(
      `backend resident memory after the runs: ${memory.now} MiB, peak ${memory.peak} MiB`,
    );
  } finally {
    await backend.stop();
    await dropDatabase();
    if (PROFILE) console.log(`CPU profile in ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
  if (failures.length > 0) {
    console.error(`bench: ${failures.join('; ')}`);
    process.exit(1);
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
