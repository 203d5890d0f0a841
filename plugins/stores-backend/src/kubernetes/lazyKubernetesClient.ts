import {
  KubernetesSettings,
  loadKubeConfig,
} from '@storeplane/plugin-stores-node';
import { KubernetesClient } from './KubernetesClient';

/**
 * The cluster client, loaded on first use and then kept. Until a cluster is configured every
 * call throws `NoClusterConfiguredError` again, so a kubeconfig that appears later is used.
 */
export function lazyKubernetesClient(
  settings: KubernetesSettings,
): () => KubernetesClient {
  let client: KubernetesClient | undefined;
  return () => {
    client ??= new KubernetesClient(
      loadKubeConfig(settings),
      settings.requestTimeoutMs,
    );
    return client;
  };
}
