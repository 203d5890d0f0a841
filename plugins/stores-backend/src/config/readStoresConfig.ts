import { Config, ConfigReader } from '@backstage/config';
import { StorePlan } from '@storeplane/plugin-stores-common';
import {
  KubernetesSettings,
  readKubernetesSettings,
  SettingsReader,
  StoresConfigError,
} from '@storeplane/plugin-stores-node';
import { isIP } from 'node:net';
import { domainProblem } from '../domains/domainName';
import { parseQuantity } from '../engines/quantity';

export { StoresConfigError };
export type { KubernetesSettings };

export interface StoresConfig {
  /** The cluster is the local sandbox (simulated pods), as `storeplane.sandbox.enabled` says. */
  sandbox: boolean;
  kubernetes: KubernetesSettings;
  ingress: {
    className: string;
    baseDomain: string;
    /** Port of the ingress controller's entry point, when not the scheme's default. */
    port?: number;
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
    watch: {
      /** Watch what waiting stores wait for, instead of only polling it. */
      enabled: boolean;
      /** How soon a waiting store is looked at again while its watches are held. */
      resyncMs: number;
    };
    notify: {
      /** Wake every replica (PostgreSQL NOTIFY) when one makes a store due. */
      enabled: boolean;
    };
  };
  monitor: {
    /** How often a Ready or Degraded store is checked again. */
    intervalMs: number;
  };
  backups: {
    /** How many Succeeded backups of a store are kept; older ones are removed. */
    retention: number;
    /** Image of the pod that serves a store's backup files to downloads (busybox httpd). */
    readerImage: string;
  };
  rollouts: {
    /** Stores in each wave after the canary wave of one. */
    waveSize: number;
    /** The pause between two waves. */
    pauseMs: number;
    /** A rollout halts once this many stores failed. */
    maxFailures: number;
    /** How often the engine looks at running rollouts. */
    frequencyMs: number;
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
  permissions: {
    /**
     * Subjects of service principals (a static token's subject, `external:<sub>` for JWKS,
     * `plugin:<id>`) that may create,
     * retry and delete stores and read credentials. Every other service may only read.
     */
    allowedServices: string[];
    /** How long a user's permission decision is reused; 0: asked on every request. */
    decisionCacheTtlMs: number;
  };
  /** An OpenAI-compatible chat-completions endpoint for content suggestions; absent: fallback only. */
  ai?: {
    baseUrl: string;
    model: string;
    apiKey?: string;
    timeoutMs: number;
  };
  /** Per-unit monthly prices for the stores' cost estimates; absent: no costs are shown. */
  cost?: {
    /** ISO 4217 code, e.g. EUR. */
    currency: string;
    cpuCoreMonth: number;
    memoryGiBMonth: number;
    storageGiBMonth: number;
  };
  /** Custom domains of stores (see src/domains). */
  domains: {
    /**
     * Where owners point their custom domains: the ingress controller's public host name or
     * IP address. Unset: custom domains are off.
     */
    ingressAddress?: string;
    /** How often a domain that does not resolve to the ingress yet is checked again. */
    checkIntervalMs: number;
  };
  defaultPlan: string;
  plans: Map<string, StorePlan>;
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

function readDomains(read: SettingsReader): StoresConfig['domains'] {
  const ingressAddress = read.optionalString('domains.ingressAddress');
  if (ingressAddress !== undefined) {
    const address = ingressAddress.toLowerCase();
    if (isIP(address) === 0 && domainProblem(address, '') !== undefined) {
      throw new StoresConfigError(
        'domains.ingressAddress',
        `'${ingressAddress}' is neither an IP address nor a host name: ${domainProblem(
          address,
          '',
        )}`,
      );
    }
  }
  return {
    ingressAddress: ingressAddress?.toLowerCase(),
    checkIntervalMs: read.durationMs('domains.checkInterval', MINUTE),
  };
}

function readAi(read: SettingsReader): StoresConfig['ai'] {
  const baseUrl = read.optionalString('ai.baseUrl');
  if (!baseUrl) return undefined;
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new StoresConfigError('ai.baseUrl', `'${baseUrl}' is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new StoresConfigError(
      'ai.baseUrl',
      `'${baseUrl}' must be an http or https URL`,
    );
  }
  const model = read.optionalString('ai.model');
  if (!model) {
    throw new StoresConfigError(
      'ai.model',
      'required when storeplane.ai.baseUrl is set',
    );
  }
  return {
    baseUrl: baseUrl.replace(/\/+$/, ''),
    model,
    apiKey: read.optionalString('ai.apiKey'),
    timeoutMs: read.durationMs('ai.timeout', 15 * SECOND),
  };
}

const COST_PRICES = [
  'cpuCoreMonth',
  'memoryGiBMonth',
  'storageGiBMonth',
] as const;

function readCost(config: Config): StoresConfig['cost'] {
  const cost = config.getOptionalConfig('cost');
  if (!cost) return undefined;
  const currency = cost.getOptionalString('currency');
  if (!currency || !/^[A-Z]{3}$/.test(currency)) {
    throw new StoresConfigError(
      'cost.currency',
      `${
        currency === undefined ? 'missing' : `'${currency}' is not`
      } an ISO 4217 currency code such as EUR or USD; it is required when storeplane.cost is set`,
    );
  }
  const price = (key: (typeof COST_PRICES)[number]) => {
    const raw = cost.getOptional(key);
    // getOptionalNumber also takes a number given as a string (from an environment variable).
    let value = NaN;
    try {
      value = cost.getOptionalNumber(key) ?? NaN;
    } catch {
      // Not a number: refused below with the value as written.
    }
    if (!Number.isFinite(value) || value < 0) {
      throw new StoresConfigError(
        `cost.${key}`,
        `${
          raw === undefined ? 'missing' : `${JSON.stringify(raw)} is not`
        } a price of at least 0 in ${currency} per month; every price is required when storeplane.cost is set`,
      );
    }
    return value;
  };
  return {
    currency,
    cpuCoreMonth: price('cpuCoreMonth'),
    memoryGiBMonth: price('memoryGiBMonth'),
    storageGiBMonth: price('storageGiBMonth'),
  };
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
  const helmTimeoutSeconds = Math.ceil(
    read.durationMs('helm.timeout', 20 * MINUTE) / SECOND,
  );

  return {
    sandbox: read.boolean('sandbox.enabled', false),
    kubernetes: readKubernetesSettings(root),
    ingress: {
      className: read.string('ingress.className', 'nginx'),
      baseDomain: read.string('ingress.baseDomain', 'stores.localhost'),
      port: read.optionalPort('ingress.port'),
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
      concurrency: read.count('reconciler.concurrency', 16),
      leaseMs: read.durationMs('reconciler.lease', 2 * MINUTE),
      maxAttempts: read.count('reconciler.maxAttempts', 8),
      initialBackoffMs: read.durationMs(
        'reconciler.initialBackoff',
        5 * SECOND,
      ),
      maxBackoffMs: read.durationMs('reconciler.maxBackoff', 5 * MINUTE),
      // Twice helm.timeout's default and a margin: a Helm Job that waits out its timeout
      // after a transient fault (an API server restart) still has time to run again.
      stepTimeoutMs: read.durationMs('reconciler.stepTimeout', 45 * MINUTE),
      watch: {
        enabled: read.boolean('reconciler.watch.enabled', true),
        resyncMs: read.durationMs('reconciler.watch.resync', 30 * SECOND),
      },
      notify: {
        enabled: read.boolean('reconciler.notify.enabled', true),
      },
    },
    monitor: {
      intervalMs: read.durationMs('monitor.interval', 5 * MINUTE),
    },
    backups: {
      retention: read.count('backups.retention', 7),
      readerImage: read.string('backups.readerImage', 'busybox:1.37'),
    },
    rollouts: {
      waveSize: read.count('rollouts.waveSize', 5),
      pauseMs: read.durationMs('rollouts.pause', MINUTE),
      maxFailures: read.count('rollouts.maxFailures', 1),
      frequencyMs: read.durationMs('rollouts.frequency', 5 * SECOND),
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
    permissions: {
      allowedServices: read.serviceSubjects('permissions.allowedServices'),
      decisionCacheTtlMs: read.durationMs(
        'permissions.decisionCacheTtl',
        5 * SECOND,
        { allowZero: true },
      ),
    },
    ai: readAi(read),
    cost: readCost(config),
    domains: readDomains(read),
    defaultPlan,
    plans,
  };
}
