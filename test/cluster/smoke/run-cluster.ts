// Starts a test cluster with packages/test-cluster (run with node >= 22.18, type stripping),
// prints its kubeconfig path, runs the command given after "--" with STOREPLANE_TEST_KUBECONFIG
// and STOREPLANE_TEST_CLUSTER_DIR set, then stops the cluster. Exit code: the command's.
import { spawnSync } from 'node:child_process';
import { startTestCluster } from '../../../packages/test-cluster/src/index.ts';

const sep = process.argv.indexOf('--');
const cmd = sep >= 0 ? process.argv.slice(sep + 1) : [];
const t0 = Date.now();
const cluster = await startTestCluster();
console.error(
  `cluster up in ${Date.now() - t0} ms: ${cluster.server}, kubeconfig ${
    cluster.adminKubeconfigPath
  }, logs ${cluster.logs()}`,
);
let code = 0;
try {
  if (cmd.length > 0) {
    const r = spawnSync(cmd[0], cmd.slice(1), {
      stdio: 'inherit',
      env: {
        ...process.env,
        STOREPLANE_TEST_KUBECONFIG: cluster.adminKubeconfigPath,
        STOREPLANE_TEST_CLUSTER_DIR: cluster.logs(),
        STOREPLANE_TEST_AUDIT_LOG: cluster.auditLogPath ?? '',
      },
    });
    code = r.status ?? 1;
    if (code === 0) {
      // Fault test of the helper itself: restart the apiserver, then check a SA kubeconfig.
      const t1 = Date.now();
      await cluster.restartApiServer();
      console.error(`apiserver restarted in ${Date.now() - t1} ms`);
      const kc = await cluster.kubeconfigForServiceAccount(
        'default',
        'default',
      );
      console.error(`service-account kubeconfig: ${kc}`);
    }
  } else {
    await new Promise(r => setTimeout(r, 2000));
  }
} finally {
  const t2 = Date.now();
  await cluster.stop();
  console.error(`cluster stopped in ${Date.now() - t2} ms`);
}
process.exit(code);
