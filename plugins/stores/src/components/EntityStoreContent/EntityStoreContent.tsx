import Grid from '@material-ui/core/Grid';
import { Progress, WarningPanel } from '@backstage/core-components';
import { stringifyEntityRef } from '@backstage/catalog-model';
import {
  MissingAnnotationEmptyState,
  useEntity,
} from '@backstage/plugin-catalog-react';
import { STORE_ID_ANNOTATION } from '@storeplane/plugin-stores-common';
import { useStore } from '../../hooks/useStore';
import {
  getStoreId,
  isStoreGone,
  SandboxNotice,
  StoreErrorView,
  useIsSandbox,
} from '../shared';
import { StoreActionsCard } from './StoreActionsCard';
import { StoreActivity } from './StoreActivity';
import { StoreBackupsCard } from './StoreBackupsCard';
import { StoreContentSuggestionsCard } from './StoreContentSuggestionsCard';
import { StoreDomainCard } from './StoreDomainCard';
import { StoreQuotaCostCard } from './StoreQuotaCostCard';
import { StoreStatusCard } from './StoreStatusCard';
import { StoreWorkloadsCard } from './StoreWorkloadsCard';

const StoreContent = (props: { storeId: string; entityRef: string }) => {
  const { storeId, entityRef } = props;
  const { store, events, error, loading, refresh } = useStore(storeId, {
    withEvents: true,
  });
  const sandbox = useIsSandbox();

  if (loading && !store) return <Progress />;
  if (error && (!store || isStoreGone(error))) {
    return <StoreErrorView error={error} onRetry={refresh} />;
  }
  if (!store) return null;

  return (
    <Grid container spacing={3} alignItems="stretch">
      {sandbox && (
        <Grid item xs={12}>
          <SandboxNotice />
        </Grid>
      )}
      {error && (
        <Grid item xs={12}>
          <WarningPanel
            title="Showing the last known state"
            message={`Refreshing the store failed: ${error.message}`}
          />
        </Grid>
      )}
      <Grid item xs={12} md={8}>
        <StoreStatusCard store={store} />
      </Grid>
      <Grid item xs={12} md={4}>
        <StoreActionsCard
          store={store}
          entityRef={entityRef}
          onChanged={refresh}
        />
      </Grid>
      <Grid item xs={12}>
        <StoreDomainCard
          store={store}
          entityRef={entityRef}
          onChanged={refresh}
        />
      </Grid>
      <Grid item xs={12}>
        <StoreBackupsCard
          store={store}
          entityRef={entityRef}
          activityKey={events?.reduce((newest, e) => Math.max(newest, e.id), 0)}
        />
      </Grid>
      <Grid item xs={12}>
        <StoreWorkloadsCard store={store} />
      </Grid>
      <Grid item xs={12}>
        <StoreQuotaCostCard store={store} />
      </Grid>
      <Grid item xs={12}>
        <StoreContentSuggestionsCard store={store} entityRef={entityRef} />
      </Grid>
      <Grid item xs={12}>
        <StoreActivity events={events ?? []} />
      </Grid>
    </Grid>
  );
};

/** The "Store" tab of a store entity. */
export const EntityStoreContent = () => {
  const { entity } = useEntity();
  const storeId = getStoreId(entity);
  if (!storeId) {
    return <MissingAnnotationEmptyState annotation={STORE_ID_ANNOTATION} />;
  }
  return (
    <StoreContent storeId={storeId} entityRef={stringifyEntityRef(entity)} />
  );
};
