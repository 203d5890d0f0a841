import { PlanCostList } from '@storeplane/plugin-stores-common';
import { StoresConfig } from '../config/readStoresConfig';
import { EngineRegistry } from '../engines/EngineRegistry';
import { monthlyCost, planRequests } from './costEstimate';

/** Every engine's monthly estimate for every configured plan; no items without prices. */
export function listPlanCosts(
  config: StoresConfig,
  engines: EngineRegistry,
): PlanCostList {
  const prices = config.cost;
  if (!prices) return { currency: null, items: [] };
  return {
    currency: prices.currency,
    items: engines.list().flatMap(engine =>
      [...config.plans.values()].map(plan => ({
        engine: engine.name,
        plan: plan.name,
        monthly: monthlyCost(prices, planRequests(engine, plan)),
      })),
    ),
  };
}
