/**
 * Reliability figures of Storeplane's reconciler on the real test control plane (etcd,
 * kube-apiserver, controller-manager, the sim running real helm) and PostgreSQL, with real
 * Backstage backend processes (bench/reliability/backend.ts):
 *
 * - crash: SIGKILL of the backend at 10 points of the lifecycle, restarted each time;
 * - faults: 30 % of Storeplane's API calls fail, one Helm run in three fails transiently;
 * - replicas: 3 backends on one database, one with its clock 5 minutes ahead.
 *
 * Prints one line per figure and exits 1 when an invariant is broken.
 *
 *   ./scripts/with-postgres.sh ./scripts/yarn.sh reliability            (small: the test command)
 *   RELIABILITY_SIZE=large ./scripts/with-postgres.sh ./scripts/yarn.sh reliability   (the docs)
 */
import { watchHelmActivity } from '../plugins/stores-backend/src/__testUtils__/realCluster';
import { crashScenario } from './reliability/crash';
import { startEnvironment } from './reliability/environment';
import { faultScenario } from './reliability/faults';
import { replicaScenario } from './reliability/replicas';
import { Figure } from './reliability/report';

const SIZES = {
  small: { storesPerPoint: 1, faultStores: 6, replicaStores: 9 },
  large: { storesPerPoint: 4, faultStores: 20, replicaStores: 100 },
};

async function main() {
  const sizeName = (process.env.RELIABILITY_SIZE ??
    'small') as keyof typeof SIZES;
  const size = SIZES[sizeName];
  if (!size) throw new Error(`RELIABILITY_SIZE must be small or large`);
  const only = process.env.RELIABILITY_ONLY?.split(',');
  const started = Date.now();
  const env = await startEnvironment();
  const helm = await watchHelmActivity(env.cluster.adminKubeconfigPath);
  const figures: Figure[] = [];
  const run = async (name: string, scenario: () => Promise<Figure>) => {
    if (only && !only.includes(name)) return;
    const figure = await scenario();
    figures.push(figure);
    console.log(figure.line);
    for (const line of figure.details) console.log(line);
  };
  try {
    console.log(
      `reliability (${sizeName}): real test control plane + PostgreSQL, cluster up in ${Math.round(
        (Date.now() - started) / 1000,
      )} s`,
    );
    await run('crash', () =>
      crashScenario(env, { storesPerPoint: size.storesPerPoint }, helm),
    );
    await run('faults', () =>
      faultScenario(env, { stores: size.faultStores, faultRate: 0.3 }, helm),
    );
    await run('replicas', () =>
      replicaScenario(env, { stores: size.replicaStores }, helm),
    );
  } finally {
    helm.stop();
    await env.close();
  }
  const violations = [
    ...figures.flatMap(f => f.violations.map(v => `${f.name}: ${v}`)),
    ...helm.errors.map(e => `watching Helm activity: ${e}`),
  ];
  console.log(
    `reliability: ${
      violations.length === 0
        ? 'all invariants hold'
        : `${violations.length} invariant(s) broken`
    } (${Math.round((Date.now() - started) / 1000)} s)`,
  );
  for (const violation of violations) console.error(`  ✗ ${violation}`);
  process.exit(violations.length === 0 ? 0 : 1);
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
