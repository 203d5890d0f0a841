import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
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

/** Renders a chart with helm template, as for the test cluster, and returns its objects. */
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
    path.join(REPO_ROOT, 'charts', chart),
    '--namespace',
    options.namespace,
    '--kube-version',
    TEST_CLUSTER_KUBE_VERSION,
  ];
  for (const file of options.valuesFiles ?? []) args.push('--values', file);
  for (const value of options.set ?? []) args.push('--set', value);
  const output = execFileSync(helmBinary(), args, {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  return parseAllDocuments(output)
    .map(doc => doc.toJS() as KubernetesObject | null)
    .filter((obj): obj is KubernetesObject => Boolean(obj?.kind));
}

/** Renders charts/woocommerce-store with exactly the values the WooCommerce engine produces for a plan. */
export function renderStoreChart(planName: string, config: StoresConfig) {
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
  return renderChart('woocommerce-store', {
    release: engine.releaseName,
    namespace: store.namespace,
    valuesFiles: [valuesFile],
  });
}

/** Storeplane's RBAC exactly as charts/backstage-storeplane renders it (one source: files/rbac-rules.yaml). */
export function renderStoreplaneRbac() {
  const objects = renderChart('backstage-storeplane', {
    release: RELEASE,
    namespace: STOREPLANE_NAMESPACE,
    valuesFiles: [
      path.join(
        REPO_ROOT,
        'charts/backstage-storeplane/ci/postgres-values.yaml',
      ),
    ],
  });
  const rbacKinds = new Set([
    'ServiceAccount',
    'ClusterRole',
    'ClusterRoleBinding',
    'ValidatingAdmissionPolicy',
    'ValidatingAdmissionPolicyBinding',
  ]);
  const rbac = objects.filter(o => rbacKinds.has(o.kind!));
  // helm template leaves the release namespace off namespaced objects; helm install adds it.
  for (const object of rbac) {
    if (object.kind === 'ServiceAccount')
      object.metadata!.namespace ??= STOREPLANE_NAMESPACE;
  }
  const serviceAccount = rbac.find(o => o.kind === 'ServiceAccount')!.metadata!
    .name!;
  const roleNamed = (suffix: string) =>
    rbac.find(
      o => o.kind === 'ClusterRole' && o.metadata!.name!.endsWith(suffix),
    )!.metadata!.name!;
  return {
    objects: rbac,
    serviceAccount,
    controllerRole: roleNamed('-controller'),
    storeManagerRole: roleNamed('-store-manager'),
    storeInstallerRole: roleNamed('-store-installer'),
  };
}

export function readRbacRules(): any {
  return parseAllDocuments(
    readFileSync(
      path.join(REPO_ROOT, 'charts/backstage-storeplane/files/rbac-rules.yaml'),
      'utf8',
    ),
  )[0].toJS();
}

/** The in-cluster HTTP health check's stand-in: the simulated pods serve nothing. */
export async function startHealthStandIn(): Promise<{
  url: string;
  requests: string[];
  close(): Promise<void>;
}> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html>WordPress stand-in</html>');
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise(resolve => server.close(() => resolve())),
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
    }));
}
