import Button from '@material-ui/core/Button';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogContentText from '@material-ui/core/DialogContentText';
import DialogTitle from '@material-ui/core/DialogTitle';
import { Store } from '@storeplane/plugin-stores-common';

export const DeleteStoreDialog = (props: {
  store: Store;
  open: boolean;
  busy: boolean;
  onCancel: () => void;
  onConfirm: () => void;
}) => {
  const { store, open, busy, onCancel, onConfirm } = props;
  return (
    <Dialog
      open={open}
      onClose={onCancel}
      aria-labelledby="delete-store-dialog-title"
    >
      <DialogTitle id="delete-store-dialog-title">
        Delete store {store.displayName}?
      </DialogTitle>
      <DialogContent>
        <DialogContentText>
          This uninstalls <strong>{store.displayName}</strong> and deletes its
          namespace <code>{store.namespace}</code> with all its data: products,
          orders, customers and uploads. It cannot be undone.
        </DialogContentText>
      </DialogContent>
      <DialogActions>
        <Button onClick={onCancel} disabled={busy}>
          Cancel
        </Button>
        <Button
          onClick={onConfirm}
          disabled={busy}
          color="secondary"
          variant="contained"
        >
          Delete store
        </Button>
      </DialogActions>
    </Dialog>
  );
};
