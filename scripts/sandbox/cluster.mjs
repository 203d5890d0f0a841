/* eslint-disable no-console */
// Test Kubernetes control plane for the browser end-to-end check (scripts/e2e.sh).
//
//   ./scripts/node.sh node --no-warnings e2e/cluster.mjs --state <file> [--parent-pid <pid>]
//
// Starts packages/test-cluster (etcd, kube-apiserver, controller-manager and a kubelet
// stand-in that really runs helm), installs Storeplane's RBAC exactly as
// charts/backstage-storeplane renders it, makes a kubeconfig for Storeplane's
// ServiceAccount and starts a local HTTP stand-in for the store health check (the
// simulated pods serve no HTTP). Then it writes shell assignments to the state file:
//
//   CLUSTER_AVAILABLE=1|0         0: CLUSTER_REASON says why (nothing else was started)
//   CLUSTER_KUBECONFIG=<path>     ServiceAccount kubeconfig for storeplane.kubernetes
//   CLUSTER_ADMIN_KUBECONFIG=<path>
//   CLUSTER_SERVICE_ACCOUNT_NAMESPACE / _NAME, CLUSTER_STORE_MANAGER_ROLE,
//   CLUSTER_STORE_INSTALLER_ROLE  for storeplane.kubernetes.rbac
//   CLUSTER_HEALTH_PORT=<port>    the health stand-in (answers 200 to everything)
//   CLUSTER_LOGS=<dir>            control plane logs
//
// and keeps running until SIGTERM/SIGINT/SIGHUP or until its parent (--parent-pid) is
// gone; then it stops the stand-in and the cluster (every child process) and exits.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import {
  startTestCluster,
  testClusterAvailability,
} from '../packages/test-cluster/src/index.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STOREPLANE_NAMESPACE = 'storeplane-system';
const RELEASE = 'storeplane';

const argv = process.argv.slice(2);
const arg = name => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const stateFile = arg('--state');
const parentPid = Number(arg('--parent-pid') || 0);
if (!stateFile) {
  console.error('usage: cluster.mjs --state <file> [--parent-pid <pid>]');
  process.exit(2);
}

const log = m => console.error(`cluster.mjs: ${m}`);
const shellQuote = v => `'${String(v).replace(/'/g, `'\\''`)}'`;
function writeState(values) {
  const text = Object.entries(values)
    .map(([k, v]) => `${k}=${shellQuote(v)}`)
    .join('\n');
  // Written whole, then renamed, so the shell never reads half a file.
  fs.writeFileSync(`${stateFile}.partial`, `${text}\n`);
  fs.renameSync(`${stateFile}.partial`, stateFile);
}

/** Storeplane's ServiceAccount and ClusterRoles from charts/backstage-storeplane. */
function renderStoreplaneRbac() {
  const helm = execFileSync(path.join(ROOT, 'scripts/ensure-helm.sh'), {
    encoding: 'utf8',
  }).trim();
  const output = execFileSync(
    helm,
    [
      'template',
      RELEASE,
      path.join(ROOT, 'charts/backstage-storeplane'),
      '--namespace',
      STOREPLANE_NAMESPACE,
      '--values',
      path.join(ROOT, 'charts/backstage-storeplane/ci/postgres-values.yaml'),
    ],
    { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
  );
  const kinds = new Set([
    'ServiceAccount',
    'ClusterRole',
    'ClusterRoleBinding',
    'ValidatingAdmissionPolicy',
    'ValidatingAdmissionPolicyBinding',
  ]);
  const objects = parseAllDocuments(output)
    .map(d => d.toJS())
    .filter(o => o && kinds.has(o.kind));
  for (const o of objects) {
    if (o.kind === 'ServiceAccount')
      o.metadata.namespace ??= STOREPLANE_NAMESPACE;
  }
  const role = suffix =>
    objects.find(
      o => o.kind === 'ClusterRole' && o.metadata.name.endsWith(suffix),
    ).metadata.name;
  return {
    objects,
    serviceAccount: objects.find(o => o.kind === 'ServiceAccount').metadata
      .name,
    storeManagerRole: role('-store-manager'),
    storeInstallerRole: role('-store-installer'),
  };
}

async function startHealthStandIn() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html>WordPress stand-in</html>');
  });
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
  return server;
}

let cluster;
let health;
let stopping;
function shutdown(code) {
  if (!stopping) {
    stopping = (async () => {
      log('stopping');
      if (health) await new Promise(r => health.close(() => r()));
      if (cluster) await cluster.stop().catch(e => log(`stop: ${e}`));
      process.exit(code);
    })();
  }
  return stopping;
}
process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));
process.on('SIGHUP', () => shutdown(0));

async function main() {
  const availability = testClusterAvailability();
  if (!availability.available) {
    writeState({ CLUSTER_AVAILABLE: 0, CLUSTER_REASON: availability.reason });
    log(`not available: ${availability.reason}`);
    return;
  }
  const t0 = Date.now();
  cluster = await startTestCluster();
  log(`cluster up in ${Date.now() - t0} ms: ${cluster.server}`);

  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cluster.adminKubeconfigPath);
  const api = k8s.KubernetesObjectApi.makeApiClient(kc);
  const rbac = renderStoreplaneRbac();
  await api.create({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: STOREPLANE_NAMESPACE },
  });
  for (const object of rbac.objects) await api.create(object);
  const kubeconfig = await cluster.kubeconfigForServiceAccount(
    STOREPLANE_NAMESPACE,
    rbac.serviceAccount,
  );
  health = await startHealthStandIn();
  writeState({
    CLUSTER_AVAILABLE: 1,
    CLUSTER_SERVER: cluster.server,
    CLUSTER_KUBECONFIG: kubeconfig,
    CLUSTER_ADMIN_KUBECONFIG: cluster.adminKubeconfigPath,
    CLUSTER_SERVICE_ACCOUNT_NAMESPACE: STOREPLANE_NAMESPACE,
    CLUSTER_SERVICE_ACCOUNT_NAME: rbac.serviceAccount,
    CLUSTER_STORE_MANAGER_ROLE: rbac.storeManagerRole,
    CLUSTER_STORE_INSTALLER_ROLE: rbac.storeInstallerRole,
    CLUSTER_HEALTH_PORT: health.address().port,
    CLUSTER_LOGS: cluster.logs(),
  });
  log(`ready in ${Date.now() - t0} ms (logs ${cluster.logs()})`);

  // Stay up until told to stop, or until whoever started us is gone.
  setInterval(() => {
    if (parentPid) {
      try {
        process.kill(parentPid, 0);
      } catch {
        log(`parent ${parentPid} is gone`);
        shutdown(0);
      }
    }
  }, 1000);
}

main().catch(e => {
  log(`failed: ${(e && e.stack) || e}`);
  try {
    writeState({
      CLUSTER_AVAILABLE: 0,
      CLUSTER_FAILED: 1,
      CLUSTER_REASON: String((e && e.message) || e).split('\n')[0],
      CLUSTER_LOGS: cluster ? cluster.logs() : os.tmpdir(),
    });
  } catch {
    // the shell times out instead
  }
  shutdown(1);
});
