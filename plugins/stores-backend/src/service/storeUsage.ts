import { V1ResourceQuota } from '@kubernetes/client-node';
import {
  StoreResourceUsage,
  StoreUsage,
} from '@storeplane/plugin-stores-common';
import { StoresConfig } from '../config/readStoresConfig';
import { CostPrices, monthlyCost, planRequests } from '../cost/costEstimate';
import { StoreRecord } from '../database/StoreRepository';
import { EngineRegistry } from '../engines/EngineRegistry';
import { parseQuantity } from '../engines/quantity';
import { KubernetesClient } from '../kubernetes/KubernetesClient';
import { QUOTA_NAME } from '../kubernetes/storeResources';

/** The quota lines shown for a store, in the quota's own keys: requests, as the cost counts them. */
const RESOURCES = [
  { resource: 'cpu', quotaKey: 'requests.cpu', unit: 'cores' },
  { resource: 'memory', quotaKey: 'requests.memory', unit: 'bytes' },
  { resource: 'storage', quotaKey: 'requests.storage', unit: 'bytes' },
  { resource: 'pods', quotaKey: 'pods', unit: 'pods' },
] as const;

export const NO_PRICES_NOTE =
  'No prices are configured (storeplane.cost), so no cost is estimated.';

const amount = (quantity: string | undefined) =>
  quantity === undefined ? null : parseQuantity(quantity);

function toResources(quota: V1ResourceQuota | undefined): StoreResourceUsage[] {
  return RESOURCES.map(({ resource, quotaKey, unit }) => {
    // status.hard is what the quota controller enforces; spec.hard until it has looked.
    const hard =
      quota?.status?.hard?.[quotaKey] ?? quota?.spec?.hard?.[quotaKey];
    const used = quota?.status?.used?.[quotaKey];
    return {
      resource,
      quotaKey,
      unit,
      hard: hard ?? null,
      used: used ?? null,
      hardAmount: amount(hard),
      usedAmount: amount(used),
    };
  });
}

function usedCost(prices: CostPrices, resources: StoreResourceUsage[]) {
  const used = (name: string) =>
    resources.find(r => r.resource === name)!.usedAmount;
  const [cpu, memory, storage] = [used('cpu'), used('memory'), used('storage')];
  if (cpu === null || memory === null || storage === null) return null;
  return monthlyCost(prices, { cpu, memory, storage });
}

function noteFor(
  prices: CostPrices | undefined,
  quota: V1ResourceQuota | undefined,
  reachedCluster: boolean,
): string | null {
  if (!prices) return NO_PRICES_NOTE;
  if (!reachedCluster)
    return 'The store has not reached the cluster yet: only the plan estimate is known.';
  if (!quota)
    return `The store's namespace has no ResourceQuota ${QUOTA_NAME} yet: only the plan estimate is known.`;
  if (!quota.status?.used)
    return "The cluster's quota controller has not reported the namespace's use yet: only the plan estimate is known.";
  return null;
}

/**
 * A store's quota use as the API server reports it (the namespace ResourceQuota's hard and
 * used), and what its plan and its actual requests cost a month at the configured prices.
 */
export async function readStoreUsage(
  store: StoreRecord,
  options: {
    config: StoresConfig;
    engines: EngineRegistry;
    kubernetes: () => KubernetesClient;
  },
): Promise<StoreUsage> {
  const { config, engines } = options;
  const reachedCluster = store.reachedClusterAt !== null;
  const quota = reachedCluster
    ? await options
        .kubernetes()
        .read<V1ResourceQuota>(
          'v1',
          'ResourceQuota',
          store.namespace,
          QUOTA_NAME,
        )
    : undefined;
  const resources = toResources(quota);
  const prices = config.cost;
  const plan = config.plans.get(store.plan);
  const engine = engines.has(store.engine)
    ? engines.get(store.engine)
    : undefined;
  return {
    namespace: store.namespace,
    plan: store.plan,
    resources,
    cost: prices
      ? {
          currency: prices.currency,
          planMonthly:
            plan && engine
              ? monthlyCost(prices, planRequests(engine, plan))
              : null,
          actualMonthly: usedCost(prices, resources),
        }
      : null,
    note: noteFor(prices, quota, reachedCluster),
  };
}
