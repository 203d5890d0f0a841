import { Store } from '@storeplane/plugin-stores-common';
import { ConfirmStoreActionDialog } from './ConfirmStoreActionDialog';

export const DeleteStoreDialog = (props: {
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
      id="delete-store-dialog"
      title={`Delete store ${store.displayName}?`}
      confirmLabel="Delete store"
      confirmColor="secondary"
    >
      This uninstalls <strong>{store.displayName}</strong> and deletes its
      namespace <code>{store.namespace}</code> with all its data: products,
      orders, customers and uploads. It cannot be undone.
    </ConfirmStoreActionDialog>
  );
};
