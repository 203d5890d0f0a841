import { Config } from '@backstage/config';
import { StorePlan } from '@storeplane/plugin-stores-common';
import { parseQuantity } from '../engines/quantity';

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

export interface StoresConfig {
  kubernetes: KubernetesSettings;
  ingress: {
    className: string;
    baseDomain: string;
    tls: {
      enabled: boolean;
      secretName?: string;
      annotations: Record<string, string>;
    };
    annotations: Record<string, string>;
  };
  storageClass: string;
  helm: {
    image: string;
    chartSource: 'bundled' | 'reference';
    chartPath?: string;
    chartReference?: string;
    chartVersion?: string;
    timeout: string;
    backoffLimit: number;
  };
  healthCheck: {
    mode: 'serviceProxy' | 'url';
    urlTemplate?: string;
    path: string;
  };
  network: {
    ingressControllerNamespaceLabels: Record<string, string>;
    clusterCidrs: string[];
    apiServerCidrs: string[];
    apiServerPorts: number[];
    healthCheckSourceCidrs: string[];
  };
  reconciler: {
    frequencySeconds: number;
    concurrency: number;
    leaseMs: number;
    maxAttempts: number;
    initialBackoffMs: number;
    maxBackoffMs: number;
    stepTimeoutMs: number;
  };
  limits: {
    maxActiveStoresPerUser: number;
    maxActiveStoresPerOwner: number;
    createRate: { count: number; windowMs: number };
  };
  eventRetentionMs: number;
  defaultPlan: string;
  plans: Map<string, StorePlan>;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function stringMap(
  config: Config | undefined,
  key: string,
): Record<string, string> {
  const value = config?.getOptionalConfig(key);
  if (!value) return {};
  return Object.fromEntries(value.keys().map(k => [k, value.getString(k)]));
}

function readPlans(config: Config): Map<string, StorePlan> {
  const plansConfig = config.getOptionalConfig('storeplane.plans');
  const plans = new Map<string, StorePlan>();
  for (const name of plansConfig?.keys() ?? []) {
    const plan = plansConfig!.getConfig(name);
    const entry: StorePlan = {
      name,
      title: plan.getOptionalString('title') ?? name,
      description: plan.getOptionalString('description') ?? '',
      cpu: plan.getString('cpu'),
      memory: plan.getString('memory'),
      storage: plan.getString('storage'),
      replicas: plan.getOptionalNumber('replicas') ?? 1,
    };
    for (const field of ['cpu', 'memory', 'storage'] as const) {
      parseQuantity(entry[field], `storeplane.plans.${name}.${field}`);
    }
    plans.set(name, entry);
  }
  if (plans.size === 0) {
    plans.set('small', {
      name: 'small',
      title: 'Small',
      description: '1 WordPress replica, 0.25 CPU, 256 MiB, 2 GiB storage',
      cpu: '250m',
      memory: '256Mi',
      storage: '2Gi',
      replicas: 1,
    });
  }
  return plans;
}

/** Reads `storeplane.*` with the defaults documented in config.d.ts. */
export function readStoresConfig(root: Config): StoresConfig {
  const config = root.getOptionalConfig('storeplane');
  const kube = config?.getOptionalConfig('kubernetes');
  const rbac = kube?.getOptionalConfig('rbac');
  const serviceAccount = rbac?.getOptionalConfig('serviceAccount');
  const ingress = config?.getOptionalConfig('ingress');
  const helm = config?.getOptionalConfig('helm');
  const health = config?.getOptionalConfig('healthCheck');
  const network = config?.getOptionalConfig('network');
  const reconciler = config?.getOptionalConfig('reconciler');
  const limits = config?.getOptionalConfig('limits');
  const plans = readPlans(root);
  const defaultPlan =
    config?.getOptionalString('defaultPlan') ?? plans.keys().next().value!;
  if (!plans.has(defaultPlan)) {
    throw new Error(
      `storeplane.defaultPlan '${defaultPlan}' is not one of storeplane.plans`,
    );
  }
  const healthMode = (health?.getOptionalString('mode') ?? 'serviceProxy') as
    | 'serviceProxy'
    | 'url';
  if (healthMode === 'url' && !health?.getOptionalString('urlTemplate')) {
    throw new Error(
      'storeplane.healthCheck.urlTemplate is required when mode is url',
    );
  }

  return {
    kubernetes: {
      source: (kube?.getOptionalString('source') ??
        'kubeconfig') as KubernetesSettings['source'],
      kubeconfigPath: kube?.getOptionalString('kubeconfigPath'),
      context: kube?.getOptionalString('context'),
      url: kube?.getOptionalString('url'),
      token: kube?.getOptionalString('token'),
      caData: kube?.getOptionalString('caData'),
      skipTLSVerify: kube?.getOptionalBoolean('skipTLSVerify') ?? false,
      requestTimeoutMs: kube?.getOptionalNumber('requestTimeoutMs') ?? 10_000,
      storeManagerClusterRole:
        rbac?.getOptionalString('storeManagerClusterRole') ??
        'storeplane-store-manager',
      storeInstallerClusterRole:
        rbac?.getOptionalString('storeInstallerClusterRole') ??
        'storeplane-store-installer',
      serviceAccount: serviceAccount
        ? {
            namespace: serviceAccount.getString('namespace'),
            name: serviceAccount.getString('name'),
          }
        : undefined,
    },
    ingress: {
      className: ingress?.getOptionalString('className') ?? 'nginx',
      baseDomain:
        ingress?.getOptionalString('baseDomain') ?? 'stores.localhost',
      tls: {
        enabled: ingress?.getOptionalBoolean('tls.enabled') ?? false,
        secretName: ingress?.getOptionalString('tls.secretName'),
        annotations: stringMap(ingress, 'tls.annotations'),
      },
      annotations: stringMap(ingress, 'annotations'),
    },
    storageClass: config?.getOptionalString('storageClass') ?? '',
    helm: {
      image: helm?.getOptionalString('image') ?? 'alpine/helm:3.19.5',
      chartSource: (helm?.getOptionalString('chart.source') ?? 'bundled') as
        | 'bundled'
        | 'reference',
      chartPath: helm?.getOptionalString('chart.path'),
      chartReference: helm?.getOptionalString('chart.reference'),
      chartVersion: helm?.getOptionalString('chart.version'),
      timeout: helm?.getOptionalString('timeout') ?? '20m',
      backoffLimit: helm?.getOptionalNumber('backoffLimit') ?? 1,
    },
    healthCheck: {
      mode: healthMode,
      urlTemplate: health?.getOptionalString('urlTemplate'),
      path: health?.getOptionalString('path') ?? '/wp-login.php',
    },
    network: {
      ingressControllerNamespaceLabels: network?.has(
        'ingressControllerNamespaceLabels',
      )
        ? stringMap(network, 'ingressControllerNamespaceLabels')
        : { 'kubernetes.io/metadata.name': 'ingress-nginx' },
      clusterCidrs: network?.getOptionalStringArray('clusterCidrs') ?? [
        '10.0.0.0/8',
        '172.16.0.0/12',
        '192.168.0.0/16',
        '100.64.0.0/10',
        '169.254.0.0/16',
      ],
      apiServerCidrs: network?.getOptionalStringArray('apiServerCidrs') ?? [
        '0.0.0.0/0',
      ],
      apiServerPorts: network?.getOptional<number[]>('apiServerPorts') ?? [
        443, 6443,
      ],
      healthCheckSourceCidrs:
        network?.getOptionalStringArray('healthCheckSourceCidrs') ?? [],
    },
    reconciler: {
      frequencySeconds: reconciler?.getOptionalNumber('frequencySeconds') ?? 5,
      concurrency: reconciler?.getOptionalNumber('concurrency') ?? 4,
      leaseMs: (reconciler?.getOptionalNumber('leaseSeconds') ?? 120) * 1000,
      maxAttempts: reconciler?.getOptionalNumber('maxAttempts') ?? 8,
      initialBackoffMs:
        (reconciler?.getOptionalNumber('initialBackoffSeconds') ?? 5) * 1000,
      maxBackoffMs:
        (reconciler?.getOptionalNumber('maxBackoffSeconds') ?? 300) * 1000,
      stepTimeoutMs:
        (reconciler?.getOptionalNumber('stepTimeoutMinutes') ?? 30) * 60_000,
    },
    limits: {
      maxActiveStoresPerUser:
        limits?.getOptionalNumber('maxActiveStoresPerUser') ?? 5,
      maxActiveStoresPerOwner:
        limits?.getOptionalNumber('maxActiveStoresPerOwner') ?? 20,
      createRate: {
        count: limits?.getOptionalNumber('createRate.count') ?? 10,
        windowMs:
          (limits?.getOptionalNumber('createRate.windowSeconds') ?? 3600) *
          1000,
      },
    },
    eventRetentionMs:
      (config?.getOptionalNumber('events.retentionDays') ?? 30) * DAY_MS,
    defaultPlan,
    plans,
  };
}
