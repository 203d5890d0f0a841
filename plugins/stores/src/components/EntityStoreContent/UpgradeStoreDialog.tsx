import { Store } from '@storeplane/plugin-stores-common';
import { ConfirmStoreActionDialog } from './ConfirmStoreActionDialog';

export const UpgradeStoreDialog = (props: {
  store: Store;
  open: boolean;
  busy: boolean;
  onCancel: () => void;
  onConfirm: () => void;
}) => {
  const { store, ...dialog } = props;
  return (
    <ConfirmStoreActionDialog
      {...dialog}
      id="upgrade-store-dialog"
      title={`Upgrade ${store.displayName}?`}
      confirmLabel="Upgrade store"
      confirmColor="primary"
    >
      A Helm upgrade moves the store from chart{' '}
      {store.chartVersion ?? '(version unknown)'}
      {store.helmRevision ? `, revision ${store.helmRevision},` : ''} to the
      chart this Storeplane ships. The store keeps serving meanwhile; if it does
      not pass its availability and health checks, it is rolled back to the
      current revision.
    </ConfirmStoreActionDialog>
  );
};
