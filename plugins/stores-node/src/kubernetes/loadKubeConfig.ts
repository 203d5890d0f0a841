import { KubeConfig } from '@kubernetes/client-node';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubernetesSettings } from '../config/readKubernetesSettings';

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * What to do about a missing cluster, for events and logs.
 *
 * @public
 */
export const CONFIGURE_CLUSTER_ADVICE =
  'Set storeplane.kubernetes in app-config (a kubeconfig file and context, inCluster, or url and token; see docs/operations.md), or, in the Storeplane repository, run ./scripts/dev.sh --sandbox for a local cluster with simulated pods';

/**
 * There is no cluster to work in: none is configured, or the configured one cannot be
 * loaded. The message says what was looked at.
 *
 * @public
 */
export class NoClusterConfiguredError extends Error {
  readonly name = 'NoClusterConfiguredError';
}

/**
 * Loads cluster credentials the way config says: a kubeconfig file (`kubeconfigPath`, else
 * the files in KUBECONFIG, else ~/.kube/config), the pod's own ServiceAccount (`inCluster`),
 * or a URL and token. Unlike `KubeConfig.loadFromDefault`, it never falls back to an
 * assumed cluster (client-node's is http://localhost:8080): without one it throws
 * {@link NoClusterConfiguredError}.
 *
 * @public
 */
export function loadKubeConfig(settings: KubernetesSettings): KubeConfig {
  const kc = new KubeConfig();
  if (settings.source === 'inCluster') {
    if (
      !process.env.KUBERNETES_SERVICE_HOST ||
      !fs.existsSync(IN_CLUSTER_TOKEN)
    ) {
      throw new NoClusterConfiguredError(
        `storeplane.kubernetes.source is inCluster, but Backstage does not run in a Kubernetes pod with a ServiceAccount token (KUBERNETES_SERVICE_HOST is unset or ${IN_CLUSTER_TOKEN} is missing)`,
      );
    }
    kc.loadFromCluster();
  } else if (settings.source === 'url') {
    kc.loadFromOptions({
      clusters: [
        {
          name: 'storeplane',
          server: settings.url,
          caData: settings.caData,
          skipTLSVerify: settings.skipTLSVerify,
        },
      ],
      users: [{ name: 'storeplane', token: settings.token }],
      contexts: [
        { name: 'storeplane', cluster: 'storeplane', user: 'storeplane' },
      ],
      currentContext: 'storeplane',
    });
  } else {
    loadKubeconfigFiles(kc, settings.kubeconfigPath);
  }
  if (settings.context) kc.setCurrentContext(settings.context);
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) {
    throw new NoClusterConfiguredError(
      settings.context
        ? `the kubeconfig has no context '${settings.context}' with a cluster (storeplane.kubernetes.context)`
        : 'the kubeconfig has no current context with a cluster; set one, or name it in storeplane.kubernetes.context',
    );
  }
  return kc;
}

function loadKubeconfigFiles(kc: KubeConfig, configuredPath?: string) {
  const { files, lookedAt } = kubeconfigFiles(configuredPath);
  if (files.length === 0) {
    throw new NoClusterConfiguredError(`there is no kubeconfig (${lookedAt})`);
  }
  try {
    kc.loadFromFile(files[0]);
    for (const file of files.slice(1)) {
      const next = new KubeConfig();
      next.loadFromFile(file);
      kc.mergeConfig(next, true);
    }
  } catch (error) {
    throw new NoClusterConfiguredError(
      `the kubeconfig ${files.join(', ')} cannot be read: ${
        (error as Error).message
      }`,
    );
  }
}

/** The kubeconfig files to load, in kubectl's order, and where they were looked for. */
function kubeconfigFiles(configuredPath?: string) {
  if (configuredPath) {
    return {
      files: fs.existsSync(configuredPath) ? [configuredPath] : [],
      lookedAt: `storeplane.kubernetes.kubeconfigPath is ${configuredPath}, which does not exist`,
    };
  }
  const fromEnvironment = (process.env.KUBECONFIG ?? '')
    .split(path.delimiter)
    .filter(Boolean);
  if (fromEnvironment.length > 0) {
    return {
      files: fromEnvironment.filter(file => fs.existsSync(file)),
      lookedAt: `KUBECONFIG is ${process.env.KUBECONFIG}, and none of it exists`,
    };
  }
  // HOME first, as kubectl does (and as a test or a service manager may set it).
  const home = path.join(process.env.HOME || os.homedir(), '.kube', 'config');
  return {
    files: fs.existsSync(home) ? [home] : [],
    lookedAt: `storeplane.kubernetes.kubeconfigPath and KUBECONFIG are unset, and ${home} does not exist`,
  };
}

/**
 * Where a loaded config points, for logs: server and context, never credentials.
 *
 * @public
 */
export function describeKubeConfig(kc: KubeConfig): string {
  return `${
    kc.getCurrentCluster()?.server
  } (context ${kc.getCurrentContext()})`;
}
