import { useMemo } from 'react';
import Tooltip from '@material-ui/core/Tooltip';
import useAsync from 'react-use/esm/useAsync';
import { TableColumn } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { Store } from '@storeplane/plugin-stores-common';
import { storesApiRef } from '../../api';

/** Each store's monthly plan estimate, looked up by its engine and plan. */
export interface StoreCosts {
  /** ISO 4217 code; null when no prices are configured. */
  currency: string | null;
  of(store: Store): number | undefined;
  format(amount: number): string;
}

/** Formats amounts in the configured currency. */
export function moneyFormat(currency: string): (amount: number) => string {
  const money = new Intl.NumberFormat('en-US', { style: 'currency', currency });
  return amount => money.format(amount);
}

/** The plan estimates from GET /plan-costs; undefined until loaded (or when they cannot be). */
export function useStoreCosts(): StoreCosts | undefined {
  const storesApi = useApi(storesApiRef);
  const { value } = useAsync(() => storesApi.listPlanCosts(), [storesApi]);
  // One object per answer, so the table's columns (and its sort state) stay put across renders.
  return useMemo(() => {
    if (!value) return undefined;
    const monthly = new Map(
      value.items.map(c => [`${c.engine}/${c.plan}`, c.monthly]),
    );
    return {
      currency: value.currency,
      of: (store: Store) => monthly.get(`${store.engine}/${store.plan}`),
      format: value.currency ? moneyFormat(value.currency) : String,
    };
  }, [value]);
}

/**
 * The "Monthly cost" column: the plan's estimate, "—" for a store without a price, empty until
 * the estimates have loaded. Sorting orders the stores the page has loaded; stores without a
 * price sort below every price.
 */
export function costColumn(costs: StoreCosts | undefined): TableColumn<Store> {
  const sortKey = (store: Store) => costs?.of(store) ?? -1;
  let tooltip = 'Loading the plan estimates';
  if (costs)
    tooltip = costs.currency
      ? `The plan's monthly estimate at the configured prices (${costs.currency}), not metered use`
      : 'No prices are configured (storeplane.cost)';
  return {
    title: (
      <Tooltip title={tooltip}>
        <span>Monthly cost{costs?.currency ? ` (${costs.currency})` : ''}</span>
      </Tooltip>
    ),
    customSort: (a, b) => sortKey(a) - sortKey(b),
    render: store => {
      if (!costs) return null;
      const cost = costs.of(store);
      return cost === undefined ? '—' : costs.format(cost);
    },
  };
}
