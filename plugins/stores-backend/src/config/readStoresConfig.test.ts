import { Config, ConfigReader } from '@backstage/config';
import { JsonObject, JsonValue } from '@backstage/types';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { readStoresConfig } from './readStoresConfig';

const read = (storeplane: JsonObject) =>
  readStoresConfig(new ConfigReader({ storeplane }));

describe('readStoresConfig', () => {
  it('has working defaults without any storeplane config', () => {
    const config = readStoresConfig(new ConfigReader({}));
    expect(config.kubernetes.source).toBe('kubeconfig');
    expect(config.kubernetes.requestTimeoutMs).toBe(10_000);
    expect(config.reconciler).toEqual({
      frequencyMs: 5_000,
      concurrency: 16,
      leaseMs: 120_000,
      maxAttempts: 8,
      initialBackoffMs: 5_000,
      maxBackoffMs: 300_000,
      stepTimeoutMs: 2_700_000,
      watch: { enabled: true, resyncMs: 30_000 },
      notify: { enabled: true },
    });
    expect(config.helm.timeout).toBe('1200s');
    expect(config.healthCheck.timeoutMs).toBe(10_000);
    expect(config.monitor).toEqual({ intervalMs: 300_000 });
    expect(config.backups).toEqual({
      retention: 7,
      readerImage: 'busybox:1.37',
    });
    expect(config.rollouts).toEqual({
      waveSize: 5,
      pauseMs: 60_000,
      maxFailures: 1,
      frequencyMs: 5_000,
    });
    expect(config.orphanSweep).toEqual({
      enabled: true,
      frequencyMs: 600_000,
      gracePeriodMs: 3_600_000,
    });
    expect(config.limits.createRate).toEqual({
      count: 10,
      windowMs: 3_600_000,
    });
    expect(config.eventRetentionMs).toBe(30 * 24 * 3600 * 1000);
    expect([...config.plans.keys()]).toEqual(['small']);
    expect(config.defaultPlan).toBe('small');
    expect(config.permissions.allowedServices).toEqual([]);
    expect(config.permissions.decisionCacheTtlMs).toBe(5_000);
  });

  it('reads the custom domain settings: off without an ingress address, and refuses one that is no host', () => {
    expect(readStoresConfig(new ConfigReader({})).domains).toEqual({
      ingressAddress: undefined,
      checkIntervalMs: 60_000,
    });
    expect(
      read({
        domains: { ingressAddress: 'LB.Example.net', checkInterval: '2m' },
      }).domains,
    ).toEqual({ ingressAddress: 'lb.example.net', checkIntervalMs: 120_000 });
    expect(
      read({ domains: { ingressAddress: '203.0.113.7' } }).domains,
    ).toMatchObject({ ingressAddress: '203.0.113.7' });
    expect(() =>
      read({ domains: { ingressAddress: 'https://lb.example.net' } }),
    ).toThrow(/domains\.ingressAddress/);
    expect(() => read({ domains: { checkInterval: 'often' } })).toThrow(
      /domains\.checkInterval/,
    );
  });

  it('reads the service principals that may change stores', () => {
    expect(
      read({
        permissions: {
          allowedServices: ['ci-bot', 'external:jwks-bot', 'plugin:ops'],
        },
      }).permissions.allowedServices,
    ).toEqual(['ci-bot', 'external:jwks-bot', 'plugin:ops']);
  });

  it('reads the permission decision cache TTL: 0 turns it off, a negative or no duration is refused', () => {
    const ttl = (decisionCacheTtl: JsonValue) =>
      read({ permissions: { decisionCacheTtl } }).permissions
        .decisionCacheTtlMs;
    expect(ttl('2s')).toBe(2_000);
    expect(ttl({ milliseconds: 500 })).toBe(500);
    expect(ttl({ seconds: 0 })).toBe(0);
    expect(ttl('PT0S')).toBe(0);
    expect(() => ttl({ seconds: -1 })).toThrow(
      "Invalid config at 'storeplane.permissions.decisionCacheTtl': a duration must not be negative",
    );
    expect(() => ttl('briefly')).toThrow(
      /storeplane\.permissions\.decisionCacheTtl/,
    );
  });

  it('reads the watch settings, and refuses a resync that is not a duration', () => {
    expect(
      read({ reconciler: { watch: { enabled: false, resync: '2m' } } })
        .reconciler.watch,
    ).toEqual({ enabled: false, resyncMs: 120_000 });
    expect(() => read({ reconciler: { watch: { resync: 'soon' } } })).toThrow(
      /reconciler\.watch\.resync/,
    );
  });

  it('reads whether replicas notify each other, and refuses a value that is not a boolean', () => {
    expect(
      read({ reconciler: { notify: { enabled: false } } }).reconciler.notify,
    ).toEqual({ enabled: false });
    expect(() =>
      read({ reconciler: { notify: { enabled: 'sometimes' } } }),
    ).toThrow(/reconciler\.notify\.enabled/);
  });

  it.each([
    [{ seconds: 30 }, 30_000],
    ['30s', 30_000],
    ['PT30S', 30_000],
    ['2 minutes', 120_000],
  ])('reads the duration %j', (lease, ms) => {
    expect(read({ reconciler: { lease } }).reconciler.leaseMs).toBe(ms);
  });

  it('reads the content suggestions endpoint, and none by default', () => {
    expect(read({}).ai).toBeUndefined();
    expect(
      read({
        ai: {
          baseUrl: 'http://llm.local/v1/',
          model: 'small-model',
          apiKey: 'sk-test',
          timeout: '5s',
        },
      }).ai,
    ).toEqual({
      baseUrl: 'http://llm.local/v1',
      model: 'small-model',
      apiKey: 'sk-test',
      timeoutMs: 5_000,
    });
  });

  it('reads the cost prices, and none by default', () => {
    expect(read({}).cost).toBeUndefined();
    expect(
      read({
        cost: {
          currency: 'EUR',
          cpuCoreMonth: 20,
          memoryGiBMonth: 2.5,
          storageGiBMonth: 0,
        },
      }).cost,
    ).toEqual({
      currency: 'EUR',
      cpuCoreMonth: 20,
      memoryGiBMonth: 2.5,
      storageGiBMonth: 0,
    });
  });

  it('appends the ingress port to nothing by default and reads it when set', () => {
    expect(read({}).ingress.port).toBeUndefined();
    expect(read({ ingress: { port: 8080 } }).ingress.port).toBe(8080);
  });

  it('reads annotations and labels whose names contain dots and slashes', () => {
    const config = read({
      ingress: {
        annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt' },
      },
      network: {
        ingressControllerNamespaceLabels: {
          'kubernetes.io/metadata.name': 'traefik',
        },
      },
    });
    expect(config.ingress.annotations).toEqual({
      'cert-manager.io/cluster-issuer': 'letsencrypt',
    });
    expect(config.network.ingressControllerNamespaceLabels).toEqual({
      'kubernetes.io/metadata.name': 'traefik',
    });
  });

  it('knows whether the app runs on the sandbox cluster', () => {
    expect(read({}).sandbox).toBe(false);
    expect(read({ sandbox: { enabled: true } }).sandbox).toBe(true);
  });

  it('passes helm the timeout in seconds', () => {
    expect(read({ helm: { timeout: '3m' } }).helm).toMatchObject({
      timeout: '180s',
      timeoutSeconds: 180,
    });
  });

  it('reads the rollout settings and names a wrong one', () => {
    const config = read({
      rollouts: { waveSize: 10, pause: '5m', maxFailures: 3, frequency: '2s' },
    });
    expect(config.rollouts).toEqual({
      waveSize: 10,
      pauseMs: 300_000,
      maxFailures: 3,
      frequencyMs: 2_000,
    });
    expect(() => read({ rollouts: { waveSize: 0 } })).toThrow(
      'storeplane.rollouts.waveSize',
    );
  });

  it('reads the health check deadline, the monitor interval and the orphan sweep', () => {
    const config = read({
      healthCheck: { timeout: '3s' },
      monitor: { interval: { seconds: 30 } },
      backups: { retention: 3, readerImage: 'registry.example/busybox:1' },
      orphanSweep: { enabled: false, frequency: '1m', gracePeriod: '2h' },
    });
    expect(config.healthCheck.timeoutMs).toBe(3000);
    expect(config.monitor.intervalMs).toBe(30_000);
    expect(config.backups.retention).toBe(3);
    expect(config.backups.readerImage).toBe('registry.example/busybox:1');
    expect(config.orphanSweep).toEqual({
      enabled: false,
      frequencyMs: 60_000,
      gracePeriodMs: 7_200_000,
    });
  });

  it.each([
    [
      { kubernetes: { source: 'incluster' } },
      "Invalid config at 'storeplane.kubernetes.source': 'incluster' is not one of 'kubeconfig', 'inCluster', 'url'",
    ],
    [
      { permissions: { allowedServices: ['ci bot'] } },
      "Invalid config at 'storeplane.permissions.allowedServices': 'ci bot' is not a service subject",
    ],
    [
      { healthCheck: { mode: 'proxy' } },
      "Invalid config at 'storeplane.healthCheck.mode': 'proxy' is not one of",
    ],
    [
      { reconciler: { frequency: 'often' } },
      "Invalid config at 'storeplane.reconciler.frequency'",
    ],
    [
      { reconciler: { lease: { secs: 3 } } },
      "Invalid config at 'storeplane.reconciler.lease'",
    ],
    [
      { reconciler: { concurrency: 0 } },
      "Invalid config at 'storeplane.reconciler.concurrency': 0 is not a whole number of at least 1",
    ],
    [
      { kubernetes: { source: 'url' } },
      "Invalid config at 'storeplane.kubernetes.url': required when",
    ],
    [
      { healthCheck: { mode: 'url' } },
      "Invalid config at 'storeplane.healthCheck.urlTemplate': required when",
    ],
    [
      { helm: { backoffLimit: 2 } },
      "Invalid config at 'storeplane.helm.backoffLimit': this setting was removed: a Helm Job now runs helm once",
    ],
    [
      { monitor: { interval: 'hourly' } },
      "Invalid config at 'storeplane.monitor.interval'",
    ],
    [
      { backups: { retention: 0 } },
      "Invalid config at 'storeplane.backups.retention'",
    ],
    [
      { orphanSweep: { gracePeriod: 'soon' } },
      "Invalid config at 'storeplane.orphanSweep.gracePeriod'",
    ],
    [
      { defaultPlan: 'huge' },
      "Invalid config at 'storeplane.defaultPlan': 'huge' is not one of storeplane.plans (small)",
    ],
    [
      {
        plans: {
          tiny: { cpu: 'lots', memory: '128Mi', storage: '1Gi' },
        },
      },
      "Invalid config at 'storeplane.plans.tiny.cpu': cpu 'lots' is not a Kubernetes quantity",
    ],
    [
      { ingress: { annotations: { 'example.com/replicas': 2 } } },
      "Invalid config at 'storeplane.ingress.annotations': the value of 'example.com/replicas' is not a string; quote it",
    ],
    [
      { ingress: { tls: { annotations: ['a=b'] } } },
      "Invalid config at 'storeplane.ingress.tls.annotations': must be a map of names to strings",
    ],
    [
      { ingress: { port: 0 } },
      "Invalid config at 'storeplane.ingress.port': 0 is not a port number (1 to 65535)",
    ],
    [
      { ai: { baseUrl: 'localhost:8080/v1', model: 'm' } },
      "Invalid config at 'storeplane.ai.baseUrl': 'localhost:8080/v1' must be an http or https URL",
    ],
    [
      { ai: { baseUrl: 'not a url', model: 'm' } },
      "Invalid config at 'storeplane.ai.baseUrl': 'not a url' is not a URL",
    ],
    [
      { ai: { baseUrl: 'http://llm.local/v1' } },
      "Invalid config at 'storeplane.ai.model': required when storeplane.ai.baseUrl is set",
    ],
    [
      { cost: { cpuCoreMonth: 1, memoryGiBMonth: 1, storageGiBMonth: 1 } },
      "Invalid config at 'storeplane.cost.currency': missing an ISO 4217 currency code",
    ],
    [
      {
        cost: {
          currency: 'euro',
          cpuCoreMonth: 1,
          memoryGiBMonth: 1,
          storageGiBMonth: 1,
        },
      },
      "Invalid config at 'storeplane.cost.currency': 'euro' is not an ISO 4217 currency code",
    ],
    [
      { cost: { currency: 'EUR', cpuCoreMonth: 1, memoryGiBMonth: 1 } },
      "Invalid config at 'storeplane.cost.storageGiBMonth': missing a price of at least 0 in EUR per month",
    ],
    [
      {
        cost: {
          currency: 'EUR',
          cpuCoreMonth: -1,
          memoryGiBMonth: 1,
          storageGiBMonth: 1,
        },
      },
      "Invalid config at 'storeplane.cost.cpuCoreMonth': -1 is not a price of at least 0",
    ],
    [
      {
        cost: {
          currency: 'EUR',
          cpuCoreMonth: 1,
          memoryGiBMonth: '2 euros',
          storageGiBMonth: 1,
        },
      },
      'Invalid config at \'storeplane.cost.memoryGiBMonth\': "2 euros" is not a price',
    ],
    [
      { ingress: { port: 70000 } },
      "Invalid config at 'storeplane.ingress.port': 70000 is not a port number",
    ],
  ])('refuses %j at startup, naming the key', (storeplane, message) => {
    expect(() => read(storeplane)).toThrow(message);
  });
});

/** A view of `config` that adds every key it is asked for (full path) to `reads`. */
function recordingReads(
  config: Config,
  prefix: string,
  reads: Set<string>,
): Config {
  return new Proxy(config, {
    get(target, property, receiver) {
      const member = Reflect.get(target, property, receiver);
      if (typeof member !== 'function') return member;
      return (...args: unknown[]) => {
        const result = member.apply(target, args);
        if (typeof args[0] !== 'string') return result;
        const key = `${prefix}${args[0]}`;
        reads.add(key);
        return result instanceof ConfigReader
          ? recordingReads(result, `${key}.`, reads)
          : result;
      };
    },
  });
}

describe('the every-key config fixture', () => {
  // scripts/test.sh checks this file against the packages' config schemas
  // (`backstage-cli config:check --strict`), so a key read here without a schema fails there.
  const fixture = parseYaml(
    readFileSync(join(__dirname, '__fixtures__', 'every-key.yaml'), 'utf8'),
  ) as JsonObject;
  // Keys read only to refuse them (they were removed), never set in a valid config.
  const removedKeys = ['storeplane.helm.backoffLimit'];
  const durationUnits = [
    'years',
    'months',
    'weeks',
    'days',
    'hours',
    'minutes',
    'seconds',
    'milliseconds',
  ];

  it('is a valid config', () => {
    expect(readStoresConfig(new ConfigReader(fixture)).kubernetes.source).toBe(
      'url',
    );
  });

  it('sets every key that readStoresConfig reads', () => {
    const reads = new Set<string>();
    readStoresConfig(recordingReads(new ConfigReader(fixture), '', reads));
    const valueAt = (path: string[]) =>
      path.reduce<unknown>(
        (node, part) => (node as JsonObject | undefined)?.[part],
        fixture,
      );
    const missing = [...reads].filter(key => {
      const path = key.split('.');
      // readDurationFromConfig looks up each unit of a duration written as an object.
      const isDurationUnit =
        durationUnits.includes(path[path.length - 1]) &&
        valueAt(path.slice(0, -1)) !== undefined;
      return (
        !removedKeys.includes(key) &&
        !isDurationUnit &&
        valueAt(path) === undefined
      );
    });
    expect(reads.size).toBeGreaterThan(50);
    expect(missing).toEqual([]);
  });
});
