import { metrics } from '@opentelemetry/api';
import { STORE_STATUSES } from '@storeplane/plugin-stores-common';
import { StoreRepository } from './database/StoreRepository';

/** OpenTelemetry instruments of the stores plugin (exported by the app's OTel SDK, e.g. as Prometheus). */
export interface StoresMetrics {
  recordProvisioned(seconds: number, plan: string): void;
  recordReconcileError(reason: string, kind: string): void;
  recordRetry(step: string): void;
}

export function createStoresMetrics(
  repository: StoreRepository,
): StoresMetrics {
  const meter = metrics.getMeter('storeplane.stores');
  const storesByStatus = meter.createObservableGauge('storeplane.stores', {
    description: 'Stores by lifecycle status',
  });
  storesByStatus.addCallback(async result => {
    const counts = await repository.countByStatus();
    for (const status of STORE_STATUSES) {
      result.observe(counts[status] ?? 0, { status });
    }
  });
  const provisioningDuration = meter.createHistogram(
    'storeplane.store.provisioning.duration',
    {
      description: 'Time from request to Ready',
      unit: 's',
    },
  );
  const reconcileErrors = meter.createCounter('storeplane.reconcile.errors', {
    description: 'Failed reconcile steps by reason',
  });
  const retries = meter.createCounter('storeplane.reconcile.retries', {
    description: 'Steps scheduled for another attempt after a transient fault',
  });
  return {
    recordProvisioned: (seconds, plan) =>
      provisioningDuration.record(seconds, { plan }),
    recordReconcileError: (reason, kind) =>
      reconcileErrors.add(1, { reason, kind }),
    recordRetry: step => retries.add(1, { step }),
  };
}
