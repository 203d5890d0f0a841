import { setSimHelmFaults } from '../../plugins/stores-backend/src/__testUtils__/realCluster';
import { BackendProcess } from './BackendProcess';
import {
  backendConfig,
  BenchEnvironment,
  createStoreViaApi,
  freePort,
  storesDatabase,
  waitFor,
} from './environment';
import { KubeProxy, seededRandom } from './KubeProxy';
import { Figure, HelmActivity } from './report';

const PREFIX = 'store-flt';
const HELM_TRANSIENT =
  'Error: INSTALLATION FAILED: 1 error occurred:\n\t* Internal error occurred: failed calling webhook "validate.nginx.ingress.kubernetes.io": failed to call webhook: Post "https://ingress-nginx-controller-admission.ingress-nginx.svc:443/networking/v1/ingresses?timeout=10s": dial tcp 10.96.0.12:443: connect: connection refused';

/** What a retry event says was wrong; every retry must say one of these. */
const RETRY_REASONS: Array<[string, RegExp]> = [
  ['helm', /^Helm install Job \S+ (failed because|was interrupted)/],
  ['webhook', /admission webhook/],
  ['rate limited', /rate limiting/],
  ['5xx', /Kubernetes API error 5\d\d/],
  ['timeout', /did not answer within/],
  ['network', /cannot be reached/],
];

/**
 * 30 % of Storeplane's calls to the API server fail (a proxy answers 429, 5xx, an admission
 * webhook refusing, never, or resets the connection) and one Helm run in three fails
 * transiently (the sim): every store must still reach Ready, its events saying what was retried.
 */
export async function faultScenario(
  env: BenchEnvironment,
  options: { stores: number; faultRate: number },
  helm: HelmActivity,
): Promise<Figure> {
  const started = Date.now();
  const databasePrefix = `rel_faults_${Date.now().toString(36)}_`;
  const proxy = new KubeProxy(env.cluster.server, env.ca, seededRandom(11));
  const proxyUrl = await proxy.start();
  const port = await freePort();
  const configFile = `${env.workDir}/faults.json`;
  BackendProcess.writeConfig(
    configFile,
    backendConfig(env, { port, databasePrefix, kubeUrl: proxyUrl }),
  );
  const backend = new BackendProcess('faults', port, configFile);
  await setSimHelmFaults(env.admin, [
    {
      namespacePrefix: PREFIX,
      argsContain: 'upgrade',
      everyNth: 3,
      message: HELM_TRANSIENT,
    },
  ]);
  await backend.start();
  const db = storesDatabase(env, databasePrefix);
  try {
    const ids: string[] = [];
    for (let i = 0; i < options.stores; i++) {
      ids.push((await createStoreViaApi(backend.baseUrl, `flt${i}`)).id);
    }
    proxy.requests = 0;
    proxy.faultRate = options.faultRate;
    const finals = await waitFor(
      'every store to end Ready or Failed',
      15 * 60_000,
      async () => {
        const rows = await db('stores').whereIn('id', ids).select('status');
        return rows.every(r => r.status === 'Ready' || r.status === 'Failed')
          ? rows
          : undefined;
      },
    );
    proxy.faultRate = 0;
    await backend.stop();

    const ready = finals.filter(r => r.status === 'Ready').length;
    const retries = await db('store_events')
      .whereIn('store_id', ids)
      .andWhere('type', 'retry.scheduled')
      .select('store_id', 'message');
    const byReason = new Map<string, number>();
    const unexplained = retries.filter(retry => {
      const reason = RETRY_REASONS.find(([, pattern]) =>
        pattern.test(retry.message),
      );
      if (reason) byReason.set(reason[0], (byReason.get(reason[0]) ?? 0) + 1);
      return !reason;
    });
    const failedHelmRuns = [...helm.failedHelmPods]
      .filter(([ns]) => ns.startsWith(PREFIX))
      .reduce((sum, [, pods]) => sum + pods.size, 0);
    const injected = [...proxy.faults.values()].reduce((a, b) => a + b, 0);
    // A step fails on an API fault only after three failed tries of one call.
    const apiStepRetries = retries.length - (byReason.get('helm') ?? 0);
    const absorbed = injected - 3 * apiStepRetries;
    const violations = [
      ...(ready < ids.length
        ? [`${ids.length - ready} of ${ids.length} stores did not reach Ready`]
        : []),
      ...unexplained.map(
        r => `retry event of ${r.store_id} names no fault: ${r.message}`,
      ),
      ...((byReason.get('helm') ?? 0) !== failedHelmRuns
        ? [
            `${failedHelmRuns} Helm runs failed but ${
              byReason.get('helm') ?? 0
            } retry events name a Helm failure`,
          ]
        : []),
      ...(failedHelmRuns === 0
        ? ['no Helm run failed: the sim rule did not apply']
        : []),
    ];
    return {
      name: 'faults',
      line: `faults: ${Math.round(
        (100 * injected) / Math.max(1, proxy.requests),
      )} % of ${proxy.requests} API calls failed (${[...proxy.faults]
        .map(([kind, n]) => `${kind}: ${n}`)
        .join(
          ', ',
        )}), Helm runs failed transiently: ${failedHelmRuns}, stores: ${
        ids.length
      }, ready: ${ready}, step retries (each an event naming the fault): ${
        retries.length
      } (${[...byReason]
        .map(([reason, n]) => `${reason} ${n}`)
        .join(
          ', ',
        )}), API faults absorbed by the client's immediate call retries: ${absorbed}, took ${Math.round(
        (Date.now() - started) / 1000,
      )} s`,
      details: [],
      violations,
    };
  } finally {
    await backend.kill();
    await db.destroy();
    await proxy.close();
    await setSimHelmFaults(env.admin, []);
  }
}
