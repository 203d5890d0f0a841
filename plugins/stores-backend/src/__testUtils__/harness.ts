import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { KubeConfig } from '@kubernetes/client-node';
import { StoreStep } from '@storeplane/plugin-stores-common';
import { Knex } from 'knex';
import { FAKE_KUBE_SERVER, testConfigData } from '@internal/stores-test-utils';
import { readStoresConfig, StoresConfig } from '../config/readStoresConfig';
import { migrateDatabase } from '../database/migrateDatabase';
import { BackupRepository } from '../database/BackupRepository';
import { StoreRecord, StoreRepository } from '../database/StoreRepository';
import { createStoresRuntime } from '../createStoresRuntime';
import { StoreWatches } from '../reconciler/StoreWatches';
import { KubernetesClient } from '../kubernetes/KubernetesClient';
import { RestoreRepository } from '../database/RestoreRepository';
import { StoresMetrics } from '../metrics';
import { ReconcileLoop } from '../reconciler/ReconcileLoop';
import { StoreReconciler } from '../reconciler/StoreReconciler';
import { StoresService } from '../service/StoresService';
import { DomainResolver } from '../domains/DomainResolver';
import { StoreDomains } from '../domains/StoreDomains';

export const CHART_DIR = resolvePackagePath(
  '@storeplane/plugin-stores-backend',
  'charts/woocommerce-store',
);

export function fakeKubernetesClient(
  server = FAKE_KUBE_SERVER,
  timeoutMs = 2000,
) {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server, skipTLSVerify: true }],
    users: [{ name: 'fake', token: 'fake-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
    currentContext: 'fake',
  });
  return new KubernetesClient(kc, timeoutMs, { retryPauseMs: 1 });
}

export interface Harness {
  /**
   * How far the test has moved the database's clock ahead (leases, due times, step timers);
   * `runUntil` moves it on 5 s per pass.
   */
  clock: { shiftMs: number };
  config: StoresConfig;
  repository: StoreRepository;
  backups: BackupRepository;
  restores: RestoreRepository;
  service: StoresService;
  domains: StoreDomains;
  reconciler: StoreReconciler;
  loop: ReconcileLoop;
  /** The runtime's watches (not started; `start()` them to test the watch-driven path). */
  watches?: StoreWatches;
  changes: Array<{ storeId: string; status: string }>;
  /** Stores that got a new event from the reconciler, in order. */
  activity: string[];
  logs: string[];
  metrics: { errors: string[]; retries: string[]; provisioned: number[] };
  /** Runs reconcile passes until `done` holds for the store (or it is gone), at most `passes` times. */
  runUntil(
    storeId: string,
    done: (store: StoreRecord | undefined) => boolean,
    passes?: number,
    between?: () => void,
  ): Promise<StoreRecord | undefined>;
}

export async function createHarness(
  knex: Knex,
  options: {
    configOverrides?: Record<string, unknown>;
    kubernetes?: () => KubernetesClient;
    replicaId?: string;
    /** Share the time shift of another harness on the same database. */
    clock?: { shiftMs: number };
    migrate?: boolean;
    /** Use the wall clock and wait between passes (tests against a real API server). */
    realTime?: boolean;
    /** Real instruments instead of the recording stand-in. */
    metrics?: StoresMetrics;
    /** Answers the custom domains' DNS checks (node:dns when unset). */
    domainResolver?: DomainResolver;
  } = {},
): Promise<Harness> {
  if (options.migrate !== false) await migrateDatabase(knex);
  const config = readStoresConfig(
    new ConfigReader(testConfigData(options.configOverrides)),
  );
  const clock = options.clock ?? { shiftMs: 0 };
  const logs: string[] = [];
  const logger = mockServices.logger.mock({
    info: (message: string) => void logs.push(message),
    warn: (message: string) => void logs.push(message),
    error: (message: string) => void logs.push(message),
    debug: (message: string) => void logs.push(message),
  } as any);
  const changes: Harness['changes'] = [];
  const activity: string[] = [];
  const metricsRecord = {
    errors: [] as string[],
    retries: [] as string[],
    provisioned: [] as number[],
  };
  const metrics: StoresMetrics = options.metrics ?? {
    recordProvisioned: seconds => void metricsRecord.provisioned.push(seconds),
    recordReconcileError: reason => void metricsRecord.errors.push(reason),
    recordRetry: step => void metricsRecord.retries.push(step),
  };
  const kubernetes =
    options.kubernetes ??
    (() => fakeKubernetesClient(undefined, config.kubernetes.requestTimeoutMs));
  const onChange = (storeId: string, status: string) =>
    void changes.push({ storeId, status });
  const {
    repository,
    backups,
    restores,
    reconciler,
    loop,
    watches,
    service,
    domains,
  } = createStoresRuntime({
    knex,
    config,
    logger,
    kubernetes,
    metrics: () => metrics,
    onChange,
    onActivity: storeId => void activity.push(storeId),
    clockShiftMs: () => clock.shiftMs,
    concurrency: 2,
    replicaId: options.replicaId,
    domainResolver: options.domainResolver,
  });
  return {
    clock,
    config,
    repository,
    backups,
    restores,
    service,
    domains,
    reconciler,
    loop,
    watches,
    changes,
    activity,
    logs,
    metrics: metricsRecord,
    async runUntil(storeId, done, passes = 30, between) {
      for (let i = 0; i < passes; i++) {
        const store = await repository.getStore(storeId);
        if (done(store)) return store;
        between?.();
        if (options.realTime)
          await new Promise(resolve => setTimeout(resolve, 1000));
        else clock.shiftMs += 5000;
        await loop.runOnce();
      }
      const store = await repository.getStore(storeId);
      if (done(store)) return store;
      throw new Error(
        `store ${storeId} did not reach the expected state: ${JSON.stringify(
          store,
        )}`,
      );
    },
  };
}

/** Sets a store's step under a lease of its own, as a worker that crashed mid-step leaves it. */
export async function rewindStep(
  harness: Harness,
  id: string,
  step: StoreStep,
) {
  const store = await harness.repository.getStore(id);
  const claimed = await harness.repository.claimStore(
    { id, generation: store!.generation },
    'test/rewind',
    60_000,
  );
  await harness.repository.updateClaimedStore(
    id,
    'test/rewind',
    store!.generation,
    { step, status: 'Provisioning', startStep: true },
  );
  await harness.repository.releaseStore(id, 'test/rewind');
  return claimed;
}
