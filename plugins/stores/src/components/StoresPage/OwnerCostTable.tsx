import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import useAsync from 'react-use/esm/useAsync';
import { Table, TableColumn } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { EntityRefLink } from '@backstage/plugin-catalog-react';
import { OwnerCost, StoreStatus } from '@storeplane/plugin-stores-common';
import { storesApiRef } from '../../api';
import { moneyFormat } from './storeCosts';

function columns(currency: string): TableColumn<OwnerCost>[] {
  const format = moneyFormat(currency);
  return [
    {
      title: 'Owner',
      field: 'owner',
      render: row => <EntityRefLink entityRef={row.owner} />,
    },
    { title: 'Stores', field: 'stores', type: 'numeric' },
    {
      title: `Monthly total (${currency})`,
      field: 'monthly',
      type: 'numeric',
      render: row =>
        row.unpricedStores
          ? `${format(row.monthly)} (${row.unpricedStores} without a price)`
          : format(row.monthly),
    },
  ];
}

/**
 * The plan estimates added up per owner over every store the user may see that matches the
 * filters (GET /costs/by-owner, counted by the backend, not from the loaded page). Nothing
 * when no prices are configured. `reloadKey` changes whenever the list is read again.
 */
export const OwnerCostTable = (props: {
  owner: string;
  status: string;
  reloadKey: unknown;
}) => {
  const { owner, status, reloadKey } = props;
  const storesApi = useApi(storesApiRef);
  const { value, error } = useAsync(
    () =>
      storesApi.listCostsByOwner({
        owner: owner || undefined,
        status: (status || undefined) as StoreStatus | undefined,
      }),
    [storesApi, owner, status, reloadKey],
  );
  if (error)
    return (
      <Typography color="error" role="alert">
        Could not add up the cost per owner: {error.message}
      </Typography>
    );
  if (!value?.currency || value.items.length === 0) return null;
  return (
    <Box mt={2} component="section" aria-label="Monthly cost per owner">
      <Table<OwnerCost>
        title="Monthly cost per owner"
        subtitle="Every store you may see that matches the filters, at its plan's estimate (not metered use)"
        columns={columns(value.currency)}
        data={value.items}
        options={{ paging: false, search: false, padding: 'dense' }}
      />
    </Box>
  );
};
