import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { KubeConfig, KubernetesObject, Watch } from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { StoresConfig } from '../config/readStoresConfig';
import { createWooCommerceEngine } from '../engines/woocommerceEngine';
import { engineInputFor } from '../reconciler/engineInput';
import { CHART_DIR } from './harness';
import { KubernetesClient } from '../kubernetes/KubernetesClient';

export const REPO_ROOT = resolvePackagePath(
  '@storeplane/plugin-stores-backend',
  '../..',
);
export const STOREPLANE_NAMESPACE = 'storeplane-system';
export const RELEASE = 'storeplane';

export function kubernetesClientFromFile(
  kubeconfigPath: string,
  timeoutMs = 10_000,
) {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return new KubernetesClient(kc, timeoutMs);
}

export function helmBinary(): string {
  return execFileSync(path.join(REPO_ROOT, 'scripts/ensure-helm.sh'), {
    encoding: 'utf8',
  }).trim();
}

/** The test control plane's Kubernetes version: charts render for it (capabilities). */
export const TEST_CLUSTER_KUBE_VERSION = '1.34.0';

/**
 * Renders a chart (a name under the repository's charts/, or a directory) with helm template, as
 * for the test cluster, and returns its objects.
 */
export function renderChart(
  chart: string,
  options: {
    release: string;
    namespace: string;
    valuesFiles?: string[];
    set?: string[];
  },
) {
  const args = [
    'template',
    options.release,
    path.isAbsolute(chart) ? chart : path.join(REPO_ROOT, 'charts', chart),
    '--namespace',
    options.namespace,
    '--kube-version',
    TEST_CLUSTER_KUBE_VERSION,
  ];
  for (const file of options.valuesFiles ?? []) args.push('--values', file);
  for (const value of options.set ?? []) args.push('--set', value);
  // stderr is piped: helm notes the umbrella chart's vendored dependency (a symlink) there.
  const output = execFileSync(helmBinary(), args, {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return parseAllDocuments(output)
    .map(doc => doc.toJS() as KubernetesObject | null)
    .filter((obj): obj is KubernetesObject => Boolean(obj?.kind));
}

/** Renders charts/woocommerce-store (or `chartDir`) with exactly the values the WooCommerce engine produces for a plan. */
export function renderStoreChart(
  planName: string,
  config: StoresConfig,
  chartDir = 'woocommerce-store',
) {
  const engine = createWooCommerceEngine({ chartPath: CHART_DIR });
  const plan = config.plans.get(planName)!;
  const store = {
    id: `contract-${planName}`,
    name: `contract-${planName}`,
    description: null,
    namespace: `store-contract-${planName}`,
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'storeplane-values-'));
  const valuesFile = path.join(dir, 'values.yaml');
  writeFileSync(
    valuesFile,
    stringify(engine.helmValues(engineInputFor(store, plan, config))),
  );
  return renderChart(chartDir, {
    release: engine.releaseName,
    namespace: store.namespace,
    valuesFiles: [valuesFile],
  });
}

/**
 * Storeplane's RBAC as an operator installs it beside an existing Backstage: the
 * storeplane-rbac chart (one source: its files/rbac-rules.yaml) bound to Backstage's own
 * ServiceAccount, which the chart does not create.
 */
export function renderStoreplaneRbac() {
  const serviceAccount = RELEASE;
  const objects: KubernetesObject[] = [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: serviceAccount, namespace: STOREPLANE_NAMESPACE },
    },
    ...renderChart('storeplane-rbac', {
      release: RELEASE,
      namespace: STOREPLANE_NAMESPACE,
      set: [`serviceAccount.name=${serviceAccount}`],
    }),
  ];
  const roleNamed = (suffix: string) =>
    objects.find(
      o => o.kind === 'ClusterRole' && o.metadata!.name!.endsWith(suffix),
    )!.metadata!.name!;
  return {
    objects,
    serviceAccount,
    controllerRole: roleNamed('-controller'),
    storeManagerRole: roleNamed('-store-manager'),
    storeInstallerRole: roleNamed('-store-installer'),
  };
}

export function readRbacRules(): any {
  return parseAllDocuments(
    readFileSync(
      path.join(REPO_ROOT, 'charts/storeplane-rbac/files/rbac-rules.yaml'),
      'utf8',
    ),
  )[0].toJS();
}

/**
 * The in-cluster HTTP health check's stand-in: the simulated pods serve nothing. Namespaces
 * in `slow` get a WordPress that answers one byte a second.
 */
export async function startHealthStandIn(): Promise<{
  url: string;
  requests: string[];
  slow: Set<string>;
  close(): Promise<void>;
}> {
  const requests: string[] = [];
  const slow = new Set<string>();
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'text/html' });
    const namespace = (req.url ?? '').split('/')[1];
    if (!slow.has(namespace)) {
      res.end('<html>WordPress stand-in</html>');
      return;
    }
    const drip = setInterval(() => {
      if (res.destroyed) clearInterval(drip);
      else res.write('<');
    }, 1000);
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    slow,
    close: () => {
      server.closeAllConnections();
      return new Promise(resolve => server.close(() => resolve()));
    },
  };
}

/** The sim's test-only helm fault rules (see test/cluster/helmfaults.go). */
export interface SimHelmFaultRule {
  namespacePrefix?: string;
  argsContain?: string;
  firstRuns?: number;
  everyNth?: number;
  delaySeconds?: number;
  killWhenPending?: boolean;
  exitCode?: number;
  message?: string;
}

export async function setSimHelmFaults(
  admin: KubernetesClient,
  rules: SimHelmFaultRule[],
) {
  await admin.apply({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'storeplane-sim-faults', namespace: 'kube-system' },
    data: { helm: JSON.stringify({ rules }) },
  } as KubernetesObject);
}

/** Helm's release records of a namespace, oldest first, as `v<revision>:<status>`. */
export async function helmHistory(
  admin: KubernetesClient,
  namespace: string,
  release = 'woocommerce',
): Promise<string[]> {
  const records = await admin.list<KubernetesObject>(
    'v1',
    'Secret',
    namespace,
    `owner=helm,name=${release}`,
  );
  return records
    .map(r => r.metadata!.labels!)
    .sort((a, b) => Number(a.version) - Number(b.version))
    .map(labels => `v${labels.version}:${labels.status}`);
}

/**
 * The chart version of a namespace's deployed Helm release, from helm's own release record (what
 * `helm list` shows): the Secret holds the release as base64 of gzipped JSON.
 */
export async function deployedChartVersion(
  admin: KubernetesClient,
  namespace: string,
  release = 'woocommerce',
): Promise<string | undefined> {
  const [deployed] = await admin.list<KubernetesObject & { data?: any }>(
    'v1',
    'Secret',
    namespace,
    `owner=helm,name=${release},status=deployed`,
  );
  if (!deployed) return undefined;
  const helmEncoded = Buffer.from(deployed.data.release, 'base64').toString();
  const json = gunzipSync(Buffer.from(helmEncoded, 'base64')).toString();
  return JSON.parse(json).chart.metadata.version;
}

/**
 * Watches what Helm does in the whole cluster: every Helm Job (label storeplane.io/role=helm;
 * a Job being deleted counts until it is gone), every helm pod that failed, and helm's release
 * records (Secrets labelled owner=helm).
 */
export async function watchHelmActivity(kubeconfigPath: string) {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const watch = new Watch(kc);
  const errors: string[] = [];
  const onError = (error: any) => {
    if (error && error.name !== 'AbortError') errors.push(String(error));
  };

  const liveJobs = new Map<string, Set<string>>();
  const mostJobsAtOnce = new Map<string, number>();
  const jobs = await watch.watch(
    '/apis/batch/v1/jobs',
    { labelSelector: 'storeplane.io/role=helm' },
    (type: string, job: KubernetesObject) => {
      const namespace = job.metadata!.namespace!;
      const live = liveJobs.get(namespace) ?? new Set<string>();
      liveJobs.set(namespace, live);
      if (type === 'DELETED') live.delete(job.metadata!.name!);
      else live.add(job.metadata!.name!);
      mostJobsAtOnce.set(
        namespace,
        Math.max(mostJobsAtOnce.get(namespace) ?? 0, live.size),
      );
    },
    onError,
  );

  const failedHelmPods = new Map<string, Map<string, string>>();
  const pods = await watch.watch(
    '/api/v1/pods',
    { labelSelector: 'storeplane.io/role=helm' },
    (_type: string, pod: KubernetesObject & { status?: any }) => {
      if (pod.status?.phase !== 'Failed') return;
      const namespace = pod.metadata!.namespace!;
      const failed = failedHelmPods.get(namespace) ?? new Map();
      failedHelmPods.set(namespace, failed);
      failed.set(
        pod.metadata!.uid!,
        pod.status?.containerStatuses?.[0]?.state?.terminated?.message ?? '',
      );
    },
    onError,
  );

  const highestRevision = new Map<string, number>();
  const releases = await watch.watch(
    '/api/v1/secrets',
    { labelSelector: 'owner=helm' },
    (type: string, secret: KubernetesObject) => {
      if (type === 'DELETED') return;
      const namespace = secret.metadata!.namespace!;
      const revision = Number(secret.metadata?.labels?.version ?? 0);
      highestRevision.set(
        namespace,
        Math.max(highestRevision.get(namespace) ?? 0, revision),
      );
    },
    onError,
  );

  return {
    /** The most Helm Jobs one namespace had at once. */
    mostJobsAtOnce,
    /** Helm pods that ended Failed, by namespace: uid -> termination message. */
    failedHelmPods,
    /** The highest release revision helm recorded, by namespace (deleted records included). */
    highestRevision,
    errors,
    stop() {
      jobs.abort();
      pods.abort();
      releases.abort();
    },
  };
}
/** API requests Storeplane's ServiceAccount made, from the API server's audit log. */
export function auditedRequests(
  auditLogPath: string,
  username: string,
  since: number,
) {
  return readFileSync(auditLogPath, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(line => JSON.parse(line))
    .filter(
      e => e.stage === 'ResponseComplete' && e.user?.username === username,
    )
    .filter(e => Date.parse(e.requestReceivedTimestamp) >= since)
    .map(e => ({
      verb: e.verb as string,
      resource: `${e.objectRef?.apiGroup ? `${e.objectRef.apiGroup}/` : ''}${
        e.objectRef?.resource ?? e.requestURI
      }${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''}`,
      namespace: e.objectRef?.namespace as string | undefined,
      name: e.objectRef?.name as string | undefined,
      code: e.responseStatus?.code as number,
      receivedAt: Date.parse(e.requestReceivedTimestamp),
      completedAt: Date.parse(e.stageTimestamp),
    }));
}
