import { useState } from 'react';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import { InfoCard } from '@backstage/core-components';
import { ResponseError } from '@backstage/errors';
import { useApi } from '@backstage/core-plugin-api';
import { usePermission } from '@backstage/plugin-permission-react';
import {
  isStoreProvisioned,
  Store,
  storeCredentialsReadPermission,
  storeDeletePermission,
  storeRetryPermission,
  storeUpdatePermission,
} from '@storeplane/plugin-stores-common';
import { storesApiRef } from '../../api';
import { DeleteStoreDialog } from './DeleteStoreDialog';
import { RenameStoreDialog } from './RenameStoreDialog';
import { ChangePlanDialog } from './ChangePlanDialog';
import { UpgradeStoreDialog } from './UpgradeStoreDialog';
import { StoreCredentialsPanel } from './StoreCredentialsPanel';
import { StoreLinkButtons } from '../shared';

const StoreLinks = ({ store }: { store: Store }) => {
  if (!isStoreProvisioned(store.status)) {
    return (
      <Typography variant="body2" color="textSecondary">
        Links appear when the store is Ready.
      </Typography>
    );
  }
  return <StoreLinkButtons store={store} />;
};

/** Links and what the user may do with the store, each behind its permission. */
export const StoreActionsCard = (props: {
  store: Store;
  entityRef: string;
  onChanged: () => void;
}) => {
  const { store, entityRef, onChanged } = props;
  const storesApi = useApi(storesApiRef);
  const retryPermission = usePermission({
    permission: storeRetryPermission,
    resourceRef: entityRef,
  });
  const deletePermission = usePermission({
    permission: storeDeletePermission,
    resourceRef: entityRef,
  });
  const updatePermission = usePermission({
    permission: storeUpdatePermission,
    resourceRef: entityRef,
  });
  const credentialsPermission = usePermission({
    permission: storeCredentialsReadPermission,
    resourceRef: entityRef,
  });
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string>();
  const [confirmingDelete, setConfirmingDelete] = useState(false);
  const [renaming, setRenaming] = useState(false);
  const [changingPlan, setChangingPlan] = useState(false);
  const [upgrading, setUpgrading] = useState(false);

  const run = async (what: string, action: () => Promise<unknown>) => {
    setBusy(true);
    setActionError(undefined);
    try {
      await action();
      onChanged();
    } catch (e) {
      // The backend's message says what to do (e.g. why a plan is refused).
      const reason = ResponseError.is(e)
        ? e.body.error.message
        : (e as Error).message;
      setActionError(`${what} failed: ${reason}`);
    } finally {
      setBusy(false);
    }
  };

  const retry = () => run('Retry', () => storesApi.retryStore(store.id));
  const confirmDelete = async () => {
    await run('Delete', () => storesApi.deleteStore(store.id));
    setConfirmingDelete(false);
  };

  const rename = async (displayName: string) => {
    await run('Rename', () => storesApi.updateStore(store.id, { displayName }));
    setRenaming(false);
  };

  const changePlan = async (plan: string) => {
    await run('Plan change', () => storesApi.updateStore(store.id, { plan }));
    setChangingPlan(false);
  };
  const upgrade = async () => {
    await run('Upgrade', () => storesApi.upgradeStore(store.id));
    setUpgrading(false);
  };

  const canRetry = store.status === 'Failed' && retryPermission.allowed;
  const canDelete = store.status !== 'Deleting' && deletePermission.allowed;
  const canChange = store.status !== 'Deleting' && updatePermission.allowed;
  const canUpdate =
    (store.status === 'Ready' || store.status === 'Degraded') &&
    updatePermission.allowed;
  const canReadCredentials =
    isStoreProvisioned(store.status) && credentialsPermission.allowed;

  return (
    <InfoCard
      title="Links and actions"
      titleTypographyProps={{ component: 'h2' }}
    >
      <Box display="flex" flexDirection="column" gridGap={16}>
        <StoreLinks store={store} />
        {(canRetry || canDelete || canChange) && (
          <Box display="flex" gridGap={8}>
            {canRetry && (
              <Button
                variant="contained"
                color="primary"
                onClick={retry}
                disabled={busy}
              >
                Retry
              </Button>
            )}
            {canChange && (
              <Button
                variant="outlined"
                onClick={() => setRenaming(true)}
                disabled={busy}
              >
                Rename
              </Button>
            )}
            {canUpdate && (
              <Button
                variant="outlined"
                onClick={() => setChangingPlan(true)}
                disabled={busy}
              >
                Change plan
              </Button>
            )}
            {canUpdate && (
              <Button
                variant="outlined"
                onClick={() => setUpgrading(true)}
                disabled={busy}
              >
                Upgrade
              </Button>
            )}
            {canDelete && (
              <Button
                variant="outlined"
                color="secondary"
                onClick={() => setConfirmingDelete(true)}
                disabled={busy}
              >
                Delete
              </Button>
            )}
          </Box>
        )}
        {actionError && <Alert severity="error">{actionError}</Alert>}
        {canReadCredentials && <StoreCredentialsPanel storeId={store.id} />}
      </Box>
      <RenameStoreDialog
        store={store}
        open={renaming}
        busy={busy}
        onCancel={() => setRenaming(false)}
        onConfirm={rename}
      />
      <ChangePlanDialog
        store={store}
        open={changingPlan}
        busy={busy}
        onCancel={() => setChangingPlan(false)}
        onConfirm={changePlan}
      />
      <UpgradeStoreDialog
        store={store}
        open={upgrading}
        busy={busy}
        onCancel={() => setUpgrading(false)}
        onConfirm={upgrade}
      />
      <DeleteStoreDialog
        store={store}
        open={confirmingDelete}
        busy={busy}
        onCancel={() => setConfirmingDelete(false)}
        onConfirm={confirmDelete}
      />
    </InfoCard>
  );
};
