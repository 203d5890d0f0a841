import { Config, ConfigReader } from '@backstage/config';
import { SettingsReader, StoresConfigError } from './SettingsReader';

/**
 * `storeplane.kubernetes`: which cluster stores go to, and Storeplane's identity there.
 *
 * @public
 */
export interface KubernetesSettings {
  source: 'kubeconfig' | 'inCluster' | 'url';
  kubeconfigPath?: string;
  context?: string;
  url?: string;
  token?: string;
  caData?: string;
  skipTLSVerify: boolean;
  requestTimeoutMs: number;
  storeManagerClusterRole: string;
  storeInstallerClusterRole: string;
  serviceAccount?: { namespace: string; name: string };
}

/**
 * Reads `storeplane.kubernetes` from the root config, with the defaults documented in the
 * stores backend's config.d.ts; throws {@link StoresConfigError} on values that are present
 * but wrong. The stores backend and the Kubernetes module read the cluster through this one
 * function, so they cannot disagree about it.
 *
 * @public
 */
export function readKubernetesSettings(root: Config): KubernetesSettings {
  const config =
    root.getOptionalConfig('storeplane') ?? new ConfigReader({}, 'defaults');
  const read = new SettingsReader(config);
  const source = read.oneOf(
    'kubernetes.source',
    ['kubeconfig', 'inCluster', 'url'] as const,
    'kubeconfig',
  );
  if (source === 'url' && !read.optionalString('kubernetes.url')) {
    throw new StoresConfigError(
      'kubernetes.url',
      'required when storeplane.kubernetes.source is url',
    );
  }
  const serviceAccount = config.getOptionalConfig(
    'kubernetes.rbac.serviceAccount',
  );
  return {
    source,
    kubeconfigPath: read.optionalString('kubernetes.kubeconfigPath'),
    context: read.optionalString('kubernetes.context'),
    url: read.optionalString('kubernetes.url'),
    token: read.optionalString('kubernetes.token'),
    caData: read.optionalString('kubernetes.caData'),
    skipTLSVerify: read.boolean('kubernetes.skipTLSVerify', false),
    requestTimeoutMs: read.durationMs('kubernetes.requestTimeout', 10_000),
    storeManagerClusterRole: read.string(
      'kubernetes.rbac.storeManagerClusterRole',
      'storeplane-store-manager',
    ),
    storeInstallerClusterRole: read.string(
      'kubernetes.rbac.storeInstallerClusterRole',
      'storeplane-store-installer',
    ),
    serviceAccount: serviceAccount
      ? {
          namespace: serviceAccount.getString('namespace'),
          name: serviceAccount.getString('name'),
        }
      : undefined,
  };
}
