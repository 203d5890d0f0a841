import { ChangeEvent, useCallback, useMemo, useState } from 'react';
import Box from '@material-ui/core/Box';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import AddIcon from '@material-ui/icons/Add';
import useAsync from 'react-use/esm/useAsync';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import {
  Content,
  ContentHeader,
  Header,
  Link,
  LinkButton,
  Page,
  ResponseErrorPanel,
  Table,
  TableColumn,
} from '@backstage/core-components';
import { useApi, useRouteRef } from '@backstage/core-plugin-api';
import { stringifyEntityRef } from '@backstage/catalog-model';
import {
  catalogApiRef,
  EntityRefLink,
  useEntityRefLink,
} from '@backstage/plugin-catalog-react';
import {
  Store,
  STORE_STATUSES,
  StoreStatus,
  STORES_SIGNAL_CHANNEL,
} from '@storeplane/plugin-stores-common';
import { storesApiRef } from '../../api';
import { createStoreRouteRef, STORE_TEMPLATE } from '../../routes';
import { isStoreSettling } from '../../hooks/useStore';
import { useRefreshOnSignal } from '../../hooks/useRefreshOnSignal';
import { relativeTime, SandboxNotice, StoreStatusChip } from '../shared';
import { costColumn, useStoreCosts } from './storeCosts';
import { OwnerCostTable } from './OwnerCostTable';

/** The API's page limit; the page shows one page and says so when there is more. */
const PAGE_LIMIT = 200;
const LIST_POLL_INTERVAL_MS = 10000;
const SETTLED_LIST_POLL_INTERVAL_MS = 60_000;

const StoreNameLink = ({ store }: { store: Store }) => {
  const entityLink = useEntityRefLink();
  return <Link to={entityLink(store.entityRef)}>{store.displayName}</Link>;
};

const columns: TableColumn<Store>[] = [
  {
    title: 'Name',
    field: 'name',
    highlight: true,
    render: store => <StoreNameLink store={store} />,
  },
  {
    title: 'Owner',
    field: 'owner',
    render: store => <EntityRefLink entityRef={store.owner} />,
  },
  { title: 'Plan', field: 'plan' },
  {
    title: 'Status',
    field: 'status',
    render: store => <StoreStatusChip status={store.status} />,
  },
  {
    title: 'Age',
    field: 'createdAt',
    defaultSort: 'desc',
    render: store => (
      <time
        dateTime={store.createdAt}
        title={new Date(store.createdAt).toLocaleString()}
      >
        {relativeTime(store.createdAt)}
      </time>
    ),
  },
];

/** Users and groups from the catalog, as owner filter choices. */
function useOwnerChoices(): string[] {
  const catalogApi = useApi(catalogApiRef);
  const { value } = useAsync(async () => {
    const { items } = await catalogApi.getEntities({
      filter: { kind: ['Group', 'User'] },
      fields: ['kind', 'metadata.namespace', 'metadata.name'],
    });
    return items.map(entity => stringifyEntityRef(entity)).sort();
  }, [catalogApi]);
  return value ?? [];
}

const StoreFilters = (props: {
  owner: string;
  status: string;
  owners: string[];
  onOwnerChange: (owner: string) => void;
  onStatusChange: (status: string) => void;
}) => (
  <Box display="flex" gridGap={16} mb={2}>
    <TextField
      select
      label="Owner"
      id="stores-owner-filter"
      variant="outlined"
      size="small"
      value={props.owner}
      onChange={(e: ChangeEvent<HTMLInputElement>) =>
        props.onOwnerChange(e.target.value)
      }
      SelectProps={{ native: true }}
      // "All owners" is a real option with an empty value: keep the label above it.
      InputLabelProps={{ shrink: true }}
      style={{ minWidth: 240 }}
    >
      <option value="">All owners</option>
      {props.owners.map(ref => (
        <option key={ref} value={ref}>
          {ref}
        </option>
      ))}
    </TextField>
    <TextField
      select
      label="Status"
      id="stores-status-filter"
      variant="outlined"
      size="small"
      value={props.status}
      onChange={(e: ChangeEvent<HTMLInputElement>) =>
        props.onStatusChange(e.target.value)
      }
      SelectProps={{ native: true }}
      InputLabelProps={{ shrink: true }}
      style={{ minWidth: 180 }}
    >
      <option value="">All statuses</option>
      {STORE_STATUSES.map(status => (
        <option key={status} value={status}>
          {status}
        </option>
      ))}
    </TextField>
  </Box>
);

/** All stores the user may see, filterable by owner and status. */
export const StoresPage = () => {
  const storesApi = useApi(storesApiRef);
  const createStoreLink = useRouteRef(createStoreRouteRef);
  const owners = useOwnerChoices();
  const [owner, setOwner] = useState('');
  const [status, setStatus] = useState('');
  // Bumped by each signal: unlike `retry`, which does nothing while a load is in flight, it
  // always loads again, so a change right after the last read is not missed.
  const [signalled, setSignalled] = useState(0);
  const reloadOnSignal = useCallback(() => setSignalled(n => n + 1), []);

  const costs = useStoreCosts();
  // The same columns before and after the estimates load: the table keeps its sort by position.
  const tableColumns = useMemo(
    () => [...columns.slice(0, 3), costColumn(costs), ...columns.slice(3)],
    [costs],
  );
  const { value, loading, error, retry } = useAsyncRetry(
    () =>
      storesApi.listStores({
        owner: owner || undefined,
        status: (status || undefined) as StoreStatus | undefined,
        limit: PAGE_LIMIT,
      }),
    [storesApi, owner, status, signalled],
  );

  // Re-read on every signal of a store change; without signals, poll (faster while some
  // store is still being set up or torn down).
  useRefreshOnSignal(
    STORES_SIGNAL_CHANNEL,
    reloadOnSignal,
    value?.items.some(isStoreSettling)
      ? LIST_POLL_INTERVAL_MS
      : SETTLED_LIST_POLL_INTERVAL_MS,
    retry,
  );

  return (
    <Page themeId="tool">
      <Header
        title="Stores"
        subtitle="WooCommerce stores running on the platform"
      />
      <Content>
        <SandboxNotice />
        <ContentHeader title="">
          {createStoreLink && (
            <LinkButton
              variant="contained"
              color="primary"
              startIcon={<AddIcon />}
              to={createStoreLink(STORE_TEMPLATE)}
            >
              Create store
            </LinkButton>
          )}
        </ContentHeader>
        <StoreFilters
          owner={owner}
          status={status}
          owners={
            owners.includes(owner) || !owner ? owners : [owner, ...owners]
          }
          onOwnerChange={setOwner}
          onStatusChange={setStatus}
        />
        {error ? (
          <ResponseErrorPanel error={error} title="Could not list stores" />
        ) : (
          <Table<Store>
            title={`Stores (${value?.totalCount ?? 0}${
              value?.totalCountCapped ? '+' : ''
            })`}
            isLoading={loading && !value}
            columns={tableColumns}
            data={value?.items ?? []}
            options={{
              paging: true,
              pageSize: 20,
              emptyRowsWhenPaging: false,
              search: true,
              padding: 'dense',
            }}
            emptyContent={
              <Box p={2}>
                <Typography>No stores match these filters.</Typography>
              </Box>
            }
          />
        )}
        {value && value.totalCount > value.items.length && (
          <Typography variant="body2" color="textSecondary">
            Showing {value.items.length} of{' '}
            {value.totalCountCapped ? 'more than ' : ''}
            {value.totalCount} stores (sorting orders only these); narrow the
            list with the filters.
          </Typography>
        )}
        {value && (
          <OwnerCostTable owner={owner} status={status} reloadKey={value} />
        )}
      </Content>
    </Page>
  );
};
