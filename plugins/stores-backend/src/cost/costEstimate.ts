import { StorePlan } from '@storeplane/plugin-stores-common';
import { StoresConfig } from '../config/readStoresConfig';
import {
  formatMebibytes,
  formatMillicores,
  parseQuantity,
} from '../engines/quantity';
import { StoreEngine } from '../engines/types';
import { namespaceBudget } from '../kubernetes/storeResources';

/** Per-unit monthly prices, from `storeplane.cost`. */
export type CostPrices = NonNullable<StoresConfig['cost']>;

/** Requests that cost money: CPU in cores, memory and storage in bytes. */
export interface BilledRequests {
  cpu: number;
  memory: number;
  storage: number;
}

const GIB = 1024 ** 3;

/**
 * What a store on a plan reserves: the requests of its namespace's ResourceQuota (the release
 * and room for the Helm Job), rounded as the quota manifest writes them, so the plan's estimate
 * is the quota's `hard` priced.
 */
export function planRequests(
  engine: StoreEngine,
  plan: StorePlan,
): BilledRequests {
  const budget = namespaceBudget(engine.resourceBudget(plan));
  return {
    cpu: parseQuantity(formatMillicores(budget.requestsCpu)),
    memory: parseQuantity(formatMebibytes(budget.requestsMemory)),
    storage: parseQuantity(formatMebibytes(budget.storage)),
  };
}

/** A month of the requests at the configured prices, rounded to cents. */
export function monthlyCost(
  prices: CostPrices,
  requests: BilledRequests,
): number {
  const cost =
    requests.cpu * prices.cpuCoreMonth +
    (requests.memory / GIB) * prices.memoryGiBMonth +
    (requests.storage / GIB) * prices.storageGiBMonth;
  return Math.round(cost * 100) / 100;
}
