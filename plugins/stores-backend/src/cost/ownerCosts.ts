import { OwnerCostList, PlanCostList } from '@storeplane/plugin-stores-common';
import { StorePlanCount } from '../database/StoreRepository';

/**
 * Store counts per owner, engine and plan priced with the plan estimates: one total per owner,
 * largest first (then by owner). A store whose engine or plan has no estimate (no longer
 * configured) is counted, and named as unpriced, but adds nothing.
 */
export function ownerCosts(
  planCosts: PlanCostList,
  counts: StorePlanCount[],
): OwnerCostList {
  if (!planCosts.currency) return { currency: null, items: [] };
  const monthlyOf = new Map(
    planCosts.items.map(c => [`${c.engine}/${c.plan}`, c.monthly]),
  );
  const owners = new Map<
    string,
    { stores: number; cents: number; unpricedStores: number }
  >();
  for (const { owner, engine, plan, count } of counts) {
    const total = owners.get(owner) ?? {
      stores: 0,
      cents: 0,
      unpricedStores: 0,
    };
    const monthly = monthlyOf.get(`${engine}/${plan}`);
    total.stores += count;
    // Plan estimates are whole cents; adding cents keeps the sum exact.
    if (monthly === undefined) total.unpricedStores += count;
    else total.cents += Math.round(monthly * 100) * count;
    owners.set(owner, total);
  }
  return {
    currency: planCosts.currency,
    items: [...owners.entries()]
      .map(([owner, { stores, cents, unpricedStores }]) => ({
        owner,
        stores,
        monthly: cents / 100,
        unpricedStores,
      }))
      .sort((a, b) => b.monthly - a.monthly || a.owner.localeCompare(b.owner)),
  };
}
