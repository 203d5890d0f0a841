import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { InfoCard, Progress } from '@backstage/core-components';
import {
  MissingAnnotationEmptyState,
  useEntity,
  useEntityRefLink,
} from '@backstage/plugin-catalog-react';
import {
  isStoreProvisioned,
  Store,
  STORE_ID_ANNOTATION,
  STORE_STEP_TITLES,
} from '@storeplane/plugin-stores-common';
import { useStore } from '../../hooks/useStore';
import {
  getStoreId,
  StoreErrorView,
  StoreLinkButtons,
  StoreStatusChip,
} from '../shared';

function describeStep(store: Store): string {
  if (store.status === 'Ready') return 'All checks passed';
  if (store.status === 'Degraded') return 'Latest check failed';
  if (!store.step) return 'Waiting for the reconciler';
  const title = STORE_STEP_TITLES[store.step];
  return store.status === 'Failed' ? `Stopped at: ${title}` : title;
}

const StoreOverview = ({ store }: { store: Store }) => (
  <Box display="flex" flexDirection="column" gridGap={12}>
    <Box display="flex" alignItems="center" gridGap={8}>
      <StoreStatusChip status={store.status} />
      <Typography variant="body2">Plan: {store.plan}</Typography>
    </Box>
    <Typography variant="body2">Step: {describeStep(store)}</Typography>
    {(store.status === 'Failed' || store.status === 'Degraded') &&
      store.lastError && (
        <Typography variant="body2" color="error">
          {store.lastError}
        </Typography>
      )}
    {isStoreProvisioned(store.status) && (
      <StoreLinkButtons store={store} size="small" />
    )}
  </Box>
);

const StoreCardBody = ({ storeId }: { storeId: string }) => {
  const { store, error, loading, refresh } = useStore(storeId);
  if (loading && !store) return <Progress />;
  if (error && !store)
    return <StoreErrorView error={error} onRetry={refresh} />;
  return store ? <StoreOverview store={store} /> : null;
};

/** Compact overview of a store for the entity's Overview tab. */
export const EntityStoreCard = () => {
  const { entity } = useEntity();
  const entityLink = useEntityRefLink();
  const storeId = getStoreId(entity);
  if (!storeId) {
    return <MissingAnnotationEmptyState annotation={STORE_ID_ANNOTATION} />;
  }
  return (
    <InfoCard
      titleTypographyProps={{ component: 'h2' }}
      title="Store"
      deepLink={{
        title: 'View store details',
        link: `${entityLink(entity)}/store`,
      }}
    >
      <StoreCardBody storeId={storeId} />
    </InfoCard>
  );
};
