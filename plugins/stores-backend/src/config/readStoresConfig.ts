import {
  Config,
  ConfigReader,
  readDurationFromConfig,
} from '@backstage/config';
import { durationToMilliseconds } from '@backstage/types';
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
    /** helm --timeout, as a Go duration (e.g. `1200s`). */
    timeout: string;
    timeoutSeconds: number;
  };
  healthCheck: {
    mode: 'serviceProxy' | 'url';
    urlTemplate?: string;
    path: string;
    /** The whole check (connect, status, first KiB of the page) must end within this. */
    timeoutMs: number;
  };
  network: {
    ingressControllerNamespaceLabels: Record<string, string>;
    clusterCidrs: string[];
    apiServerCidrs: string[];
    apiServerPorts: number[];
    healthCheckSourceCidrs: string[];
  };
  reconciler: {
    frequencyMs: number;
    concurrency: number;
    leaseMs: number;
    maxAttempts: number;
    initialBackoffMs: number;
    maxBackoffMs: number;
    stepTimeoutMs: number;
  };
  orphanSweep: {
    enabled: boolean;
    frequencyMs: number;
    gracePeriodMs: number;
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

/** A setting is present but wrong: startup stops with the key and what is allowed. */
export class StoresConfigError extends Error {
  readonly name = 'StoresConfigError';
  constructor(key: string, problem: string) {
    super(`Invalid config at 'storeplane.${key}': ${problem}`);
  }
}

/** Reads `storeplane.*` values with defaults, refusing values that would silently mean something else. */
class SettingsReader {
  constructor(private readonly config: Config) {}

  /** A present value must be one of `allowed` (exact spelling). */
  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const value = this.config.getOptionalString(key);
    if (value === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      throw new StoresConfigError(
        key,
        `'${value}' is not one of ${allowed.map(a => `'${a}'`).join(', ')}`,
      );
    }
    return value as T;
  }

  string(key: string, fallback: string): string {
    return this.config.getOptionalString(key) ?? fallback;
  }

  optionalString(key: string): string | undefined {
    return this.config.getOptionalString(key);
  }

  boolean(key: string, fallback: boolean): boolean {
    return this.config.getOptionalBoolean(key) ?? fallback;
  }

  /** A whole number of at least `min`. */
  count(key: string, fallback: number, min = 1): number {
    const value = this.config.getOptionalNumber(key) ?? fallback;
    if (!Number.isInteger(value) || value < min) {
      throw new StoresConfigError(
        key,
        `${value} is not a whole number of at least ${min}`,
      );
    }
    return value;
  }

  /** A Backstage duration (`{ seconds: 5 }`, `'5s'`, `'PT5S'`), in milliseconds. */
  durationMs(key: string, fallbackMs: number): number {
    if (!this.config.has(key)) return fallbackMs;
    let ms: number;
    try {
      ms = durationToMilliseconds(readDurationFromConfig(this.config, { key }));
    } catch (error) {
      throw new StoresConfigError(
        key,
        `${
          (error as Error).message
        }. Use e.g. { seconds: 30 }, '30s' or 'PT30S'`,
      );
    }
    if (!(ms > 0)) {
      throw new StoresConfigError(key, 'a duration must be longer than zero');
    }
    return ms;
  }

  stringArray(key: string, fallback: string[]): string[] {
    return this.config.getOptionalStringArray(key) ?? fallback;
  }

  numberArray(key: string, fallback: number[]): number[] {
    return this.config.getOptional<number[]>(key) ?? fallback;
  }

  stringMap(key: string, fallback: Record<string, string> = {}) {
    const value = this.config.getOptionalConfig(key);
    if (!value) return fallback;
    return Object.fromEntries(value.keys().map(k => [k, value.getString(k)]));
  }
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;

const DEFAULT_PLAN: StorePlan = {
  name: 'small',
  title: 'Small',
  description: '1 WordPress replica, 0.25 CPU, 256 MiB, 2 GiB storage',
  cpu: '250m',
  memory: '256Mi',
  storage: '2Gi',
  replicas: 1,
};

function readPlans(config: Config): Map<string, StorePlan> {
  const plansConfig = config.getOptionalConfig('plans');
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
      replicas: new SettingsReader(plan).count('replicas', 1),
    };
    for (const field of ['cpu', 'memory', 'storage'] as const) {
      try {
        parseQuantity(entry[field], field);
      } catch (error) {
        throw new StoresConfigError(
          `plans.${name}.${field}`,
          (error as Error).message,
        );
      }
    }
    plans.set(name, entry);
  }
  if (plans.size === 0) plans.set(DEFAULT_PLAN.name, DEFAULT_PLAN);
  return plans;
}

/** Reads `storeplane.*` with the defaults documented in config.d.ts; throws on values that are present but wrong. */
export function readStoresConfig(root: Config): StoresConfig {
  const config =
    root.getOptionalConfig('storeplane') ?? new ConfigReader({}, 'defaults');
  const read = new SettingsReader(config);
  const plans = readPlans(config);
  const defaultPlan = read.string('defaultPlan', plans.keys().next().value!);
  if (!plans.has(defaultPlan)) {
    throw new StoresConfigError(
      'defaultPlan',
      `'${defaultPlan}' is not one of storeplane.plans (${[
        ...plans.keys(),
      ].join(', ')})`,
    );
  }
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
  const healthMode = read.oneOf(
    'healthCheck.mode',
    ['serviceProxy', 'url'] as const,
    'serviceProxy',
  );
  if (healthMode === 'url' && !read.optionalString('healthCheck.urlTemplate')) {
    throw new StoresConfigError(
      'healthCheck.urlTemplate',
      'required when storeplane.healthCheck.mode is url',
    );
  }
  const chartSource = read.oneOf(
    'helm.chart.source',
    ['bundled', 'reference'] as const,
    'bundled',
  );
  if (
    chartSource === 'reference' &&
    !read.optionalString('helm.chart.reference')
  ) {
    throw new StoresConfigError(
      'helm.chart.reference',
      'required when storeplane.helm.chart.source is reference',
    );
  }
  if (config.has('helm.backoffLimit')) {
    throw new StoresConfigError(
      'helm.backoffLimit',
      'this setting was removed: a Helm Job now runs helm once, and the reconciler retries transient failures with backoff (storeplane.reconciler.maxAttempts). Delete the key',
    );
  }
  const serviceAccount = config.getOptionalConfig(
    'kubernetes.rbac.serviceAccount',
  );
  const helmTimeoutSeconds = Math.ceil(
    read.durationMs('helm.timeout', 20 * MINUTE) / SECOND,
  );

  return {
    kubernetes: {
      source,
      kubeconfigPath: read.optionalString('kubernetes.kubeconfigPath'),
      context: read.optionalString('kubernetes.context'),
      url: read.optionalString('kubernetes.url'),
      token: read.optionalString('kubernetes.token'),
      caData: read.optionalString('kubernetes.caData'),
      skipTLSVerify: read.boolean('kubernetes.skipTLSVerify', false),
      requestTimeoutMs: read.durationMs(
        'kubernetes.requestTimeout',
        10 * SECOND,
      ),
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
    },
    ingress: {
      className: read.string('ingress.className', 'nginx'),
      baseDomain: read.string('ingress.baseDomain', 'stores.localhost'),
      tls: {
        enabled: read.boolean('ingress.tls.enabled', false),
        secretName: read.optionalString('ingress.tls.secretName'),
        annotations: read.stringMap('ingress.tls.annotations'),
      },
      annotations: read.stringMap('ingress.annotations'),
    },
    storageClass: read.string('storageClass', ''),
    helm: {
      image: read.string('helm.image', 'alpine/helm:3.19.5'),
      chartSource,
      chartPath: read.optionalString('helm.chart.path'),
      chartReference: read.optionalString('helm.chart.reference'),
      chartVersion: read.optionalString('helm.chart.version'),
      timeout: `${helmTimeoutSeconds}s`,
      timeoutSeconds: helmTimeoutSeconds,
    },
    healthCheck: {
      mode: healthMode,
      urlTemplate: read.optionalString('healthCheck.urlTemplate'),
      path: read.string('healthCheck.path', '/wp-login.php'),
      timeoutMs: read.durationMs('healthCheck.timeout', 10 * SECOND),
    },
    network: {
      ingressControllerNamespaceLabels: read.stringMap(
        'network.ingressControllerNamespaceLabels',
        { 'kubernetes.io/metadata.name': 'ingress-nginx' },
      ),
      clusterCidrs: read.stringArray('network.clusterCidrs', [
        '10.0.0.0/8',
        '172.16.0.0/12',
        '192.168.0.0/16',
        '100.64.0.0/10',
        '169.254.0.0/16',
      ]),
      apiServerCidrs: read.stringArray('network.apiServerCidrs', ['0.0.0.0/0']),
      apiServerPorts: read.numberArray('network.apiServerPorts', [443, 6443]),
      healthCheckSourceCidrs: read.stringArray(
        'network.healthCheckSourceCidrs',
        [],
      ),
    },
    reconciler: {
      frequencyMs: read.durationMs('reconciler.frequency', 5 * SECOND),
      concurrency: read.count('reconciler.concurrency', 4),
      leaseMs: read.durationMs('reconciler.lease', 2 * MINUTE),
      maxAttempts: read.count('reconciler.maxAttempts', 8),
      initialBackoffMs: read.durationMs(
        'reconciler.initialBackoff',
        5 * SECOND,
      ),
      maxBackoffMs: read.durationMs('reconciler.maxBackoff', 5 * MINUTE),
      stepTimeoutMs: read.durationMs('reconciler.stepTimeout', 30 * MINUTE),
    },
    orphanSweep: {
      enabled: read.boolean('orphanSweep.enabled', true),
      frequencyMs: read.durationMs('orphanSweep.frequency', 10 * MINUTE),
      gracePeriodMs: read.durationMs('orphanSweep.gracePeriod', 60 * MINUTE),
    },
    limits: {
      maxActiveStoresPerUser: read.count('limits.maxActiveStoresPerUser', 5, 0),
      maxActiveStoresPerOwner: read.count(
        'limits.maxActiveStoresPerOwner',
        20,
        0,
      ),
      createRate: {
        count: read.count('limits.createRate.count', 10, 0),
        windowMs: read.durationMs('limits.createRate.window', 60 * MINUTE),
      },
    },
    eventRetentionMs: read.durationMs('events.retention', 30 * DAY),
    defaultPlan,
    plans,
  };
}
