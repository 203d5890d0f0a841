import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import { InfoCard } from '@backstage/core-components';
import { Store } from '@storeplane/plugin-stores-common';
import { relativeTime, StoreStatusChip } from '../shared';
import { StoreStepper } from './StoreStepper';

const StoreProblem = ({ store }: { store: Store }) => {
  if (store.status === 'Failed') {
    return (
      <Alert severity="error" role="alert">
        <strong>The store could not be set up.</strong>{' '}
        {store.lastError ?? 'No error was recorded.'} Fix the cause, then press
        Retry; or delete the store.
      </Alert>
    );
  }
  if (store.status === 'Degraded') {
    return (
      <Alert severity="warning" role="alert">
        <strong>The store's latest check failed:</strong>{' '}
        {store.lastError ?? 'No reason was recorded.'} Storeplane checks it
        again periodically; it turns Ready by itself once the check passes. The
        Workloads panel and the Kubernetes tab show its pods.
      </Alert>
    );
  }
  if (store.lastError && store.status !== 'Ready') {
    return (
      <Alert severity="warning">
        <strong>The last attempt failed:</strong> {store.lastError} It is
        retried automatically.
      </Alert>
    );
  }
  return null;
};

const StoreAttempts = ({ store }: { store: Store }) => {
  if (store.attempts === 0 || store.status === 'Ready') return null;
  const retry =
    store.nextAttemptAt && store.status !== 'Failed' ? (
      <>
        {' '}
        · next retry{' '}
        <time
          dateTime={store.nextAttemptAt}
          title={new Date(store.nextAttemptAt).toLocaleString()}
        >
          {relativeTime(store.nextAttemptAt)}
        </time>
      </>
    ) : null;
  return (
    <Typography variant="body2" color="textSecondary">
      {store.attempts === 1
        ? '1 failed attempt'
        : `${store.attempts} failed attempts`}{' '}
      of this step{retry}
    </Typography>
  );
};

export const StoreStatusCard = ({ store }: { store: Store }) => (
  <InfoCard
    titleTypographyProps={{ component: 'h2' }}
    title="Status"
    subheader={`${store.displayName} · plan ${store.plan}${
      store.chartVersion ? ` · chart ${store.chartVersion}` : ''
    } · namespace ${store.namespace}`}
    action={
      <Box pt={2} pr={1}>
        <StoreStatusChip status={store.status} />
      </Box>
    }
  >
    <StoreStepper store={store} />
    <Box display="flex" flexDirection="column" gridGap={8}>
      <StoreAttempts store={store} />
      <StoreProblem store={store} />
      {store.status === 'Deleting' && (
        <Alert severity="info">
          The store is being deleted. This page updates until it is gone.
        </Alert>
      )}
    </Box>
  </InfoCard>
);
