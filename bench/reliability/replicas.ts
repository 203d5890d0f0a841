import {
  BackendProcess,
  notDueClaims,
  overlappingClaims,
} from './BackendProcess';
import {
  backendConfig,
  BenchEnvironment,
  createStoreViaApi,
  freePort,
  storesDatabase,
  waitFor,
} from './environment';
import { Figure, HelmActivity } from './report';

const PREFIX = 'store-rep';
const FIVE_MINUTES = 5 * 60_000;

/**
 * Three backends on one PostgreSQL, one of them with its clock five minutes ahead, share the
 * stores: no store may be worked by two replicas at overlapping times. Every claim is in the
 * backends' own logs ("Released store", with claim and release on the database's clock).
 */
export async function replicaScenario(
  env: BenchEnvironment,
  options: { stores: number },
  helm: HelmActivity,
): Promise<Figure> {
  const started = Date.now();
  const databasePrefix = `rel_replicas_${Date.now().toString(36)}_`;
  const backends: BackendProcess[] = [];
  for (const [name, offset] of [
    ['replica-a', 0],
    ['replica-b', 0],
    ['replica-c (+5 min)', FIVE_MINUTES],
  ] as const) {
    const port = await freePort();
    const configFile = `${env.workDir}/${name.slice(0, 9)}.json`;
    BackendProcess.writeConfig(
      configFile,
      backendConfig(env, {
        port,
        databasePrefix,
        kubeUrl: env.cluster.server,
      }),
    );
    backends.push(new BackendProcess(name, port, configFile, offset));
  }
  // The first one creates the database; then the others join.
  await backends[0].start();
  await Promise.all(backends.slice(1).map(b => b.start()));
  const db = storesDatabase(env, databasePrefix);
  try {
    const ids: string[] = [];
    for (let i = 0; i < options.stores; i++) {
      const via = backends[i % backends.length];
      ids.push((await createStoreViaApi(via.baseUrl, `rep${i}`)).id);
    }
    const finals = await waitFor(
      'every store to end Ready or Failed',
      30 * 60_000,
      async () => {
        const rows = await db('stores').whereIn('id', ids).select('status');
        return rows.every(r => r.status === 'Ready' || r.status === 'Failed')
          ? rows
          : undefined;
      },
    );
    await Promise.all(backends.map(b => b.stop()));

    const ready = finals.filter(r => r.status === 'Ready').length;
    const claims = backends.flatMap(b => b.claims);
    const overlaps = overlappingClaims(claims);
    const notDue = notDueClaims(claims);
    const twoJobs = [...helm.mostJobsAtOnce].filter(
      ([ns, most]) => ns.startsWith(PREFIX) && most > 1,
    );
    const idle = backends.filter(b => b.claims.length === 0);
    const violations = [
      ...(ready < ids.length
        ? [`${ids.length - ready} of ${ids.length} stores did not reach Ready`]
        : []),
      ...overlaps.map(
        ([a, b]) =>
          `store ${a.storeId}: claim ${a.claim} (${a.replica}) held until ${a.releasedAt}, claim ${b.claim} (${b.replica}) began at ${b.claimedAt}`,
      ),
      ...notDue.map(
        c =>
          `store ${c.storeId}: claim ${c.claim} (${c.replica}) at ${c.claimedAt}, not due until ${c.dueAt}`,
      ),
      ...twoJobs.map(([ns, n]) => `${ns} had ${n} Helm Jobs at once`),
      ...idle.map(b => `${b.name} never claimed a store`),
      ...(claims.length < ids.length
        ? ['fewer claims logged than stores']
        : []),
    ];
    return {
      name: 'replicas',
      line: `replicas: 3 backends on one PostgreSQL (one clock 5 min ahead), stores: ${
        ids.length
      }, ready: ${ready}, claims: ${claims.length} (${backends
        .map(b => `${b.name} ${b.claims.length}`)
        .join(', ')}), overlapping claims: ${
        overlaps.length
      }, not-due claims: ${notDue.length}, stores with two Helm Jobs at once: ${
        twoJobs.length
      }, took ${Math.round((Date.now() - started) / 1000)} s`,
      details: [],
      violations,
    };
  } finally {
    await Promise.all(backends.map(b => b.kill()));
    await db.destroy();
  }
}
