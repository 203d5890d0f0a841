import { LoggerService } from '@backstage/backend-plugin-api';
import { ANNOTATION_KUBERNETES_AUTH_PROVIDER } from '@backstage/plugin-kubernetes-common';
import {
  ClusterDetails,
  KubernetesClustersSupplier,
} from '@backstage/plugin-kubernetes-node';
import { ApisApi, KubeConfig } from '@kubernetes/client-node';
import {
  KubernetesSettings,
  loadKubeConfig,
  NoClusterConfiguredError,
} from '@storeplane/plugin-stores-node';
import https from 'node:https';

/**
 * Name of the stores' cluster in Backstage's Kubernetes plugin.
 *
 * @public
 */
export const STOREPLANE_CLUSTER_NAME = 'storeplane';

const METRICS_CHECK_INTERVAL_MS = 10 * 60_000;

/**
 * Supplies the cluster of `storeplane.kubernetes` to Backstage's Kubernetes plugin, with the
 * same credentials the stores backend uses (one setting, nothing to keep in sync), plus the
 * clusters the operator configured for the plugin itself, if any.
 *
 * The Kubernetes plugin's `serviceAccount` auth sends a bearer token, so the identity must be
 * token based (a ServiceAccount token, inCluster, url + token, or a kubeconfig whose user
 * yields a token, e.g. through an exec plugin); a client-certificate identity is not offered
 * to the plugin, and a warning says so.
 *
 * @public
 */
export class StoreplaneClusterSupplier implements KubernetesClustersSupplier {
  private kubeConfig: KubeConfig | undefined;
  private metrics: { available: boolean; checkedAt: number } | undefined;
  private readonly warned = new Set<string>();

  constructor(
    private readonly options: {
      settings: KubernetesSettings;
      logger: LoggerService;
      /** The operator's own clusters (`kubernetes.clusterLocatorMethods`). */
      others?: KubernetesClustersSupplier;
      now?: () => number;
    },
  ) {}

  async getClusters(
    options: Parameters<KubernetesClustersSupplier['getClusters']>[0],
  ): Promise<ClusterDetails[]> {
    const others = (await this.options.others?.getClusters(options)) ?? [];
    const storeplane = await this.storeplaneCluster();
    return storeplane ? [...others, storeplane] : others;
  }

  private async storeplaneCluster(): Promise<ClusterDetails | undefined> {
    const kc = this.loadKubeConfig();
    if (!kc) return undefined;
    const cluster = kc.getCurrentCluster()!;
    const request: https.RequestOptions = { headers: {} };
    await kc.applyToHTTPSOptions(request);
    const authorization = String(
      (request.headers as Record<string, unknown>).Authorization ?? '',
    );
    const token = /^Bearer (.+)$/.exec(authorization)?.[1];
    if (!token) {
      this.warnOnce(
        'no-token',
        "The stores' cluster is not shown on Kubernetes tabs: Storeplane's identity in storeplane.kubernetes has no bearer token (a client certificate?), and Backstage's Kubernetes plugin needs one. Use a ServiceAccount token.",
      );
      return undefined;
    }
    return {
      name: STOREPLANE_CLUSTER_NAME,
      title: 'Storeplane stores',
      url: cluster.server,
      authMetadata: {
        [ANNOTATION_KUBERNETES_AUTH_PROVIDER]: 'serviceAccount',
        serviceAccountToken: token,
      },
      skipTLSVerify: cluster.skipTLSVerify,
      caData: cluster.caData,
      caFile: cluster.caFile,
      skipMetricsLookup: !(await this.hasMetricsApi(kc)),
    };
  }

  /** The loaded config, kept once it loads (exec plugins cache their tokens in it). */
  private loadKubeConfig(): KubeConfig | undefined {
    if (this.kubeConfig) return this.kubeConfig;
    try {
      this.kubeConfig = loadKubeConfig(this.options.settings);
      return this.kubeConfig;
    } catch (error) {
      if (!(error instanceof NoClusterConfiguredError)) throw error;
      this.warnOnce(
        'no-cluster',
        `The stores' cluster is not shown on Kubernetes tabs: no Kubernetes cluster is configured (${error.message})`,
      );
      return undefined;
    }
  }

  /** Pod metrics need metrics-server; without it every lookup would show as an error. */
  private async hasMetricsApi(kc: KubeConfig): Promise<boolean> {
    const now = (this.options.now ?? Date.now)();
    if (
      this.metrics &&
      now - this.metrics.checkedAt < METRICS_CHECK_INTERVAL_MS
    ) {
      return this.metrics.available;
    }
    let available = false;
    try {
      const { groups } = await kc.makeApiClient(ApisApi).getAPIVersions();
      available = groups.some(group => group.name === 'metrics.k8s.io');
    } catch (error) {
      this.options.logger.debug(
        `Could not list the API groups of the stores' cluster: ${error}`,
      );
    }
    this.metrics = { available, checkedAt: now };
    return available;
  }

  private warnOnce(key: string, message: string) {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.options.logger.warn(message);
  }
}
