import Button from '@material-ui/core/Button';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogContentText from '@material-ui/core/DialogContentText';
import DialogTitle from '@material-ui/core/DialogTitle';
import { Store } from '@storeplane/plugin-stores-common';

export const UpgradeStoreDialog = (props: {
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
      aria-labelledby="upgrade-store-dialog-title"
    >
      <DialogTitle id="upgrade-store-dialog-title">
        Upgrade {store.displayName}?
      </DialogTitle>
      <DialogContent>
        <DialogContentText>
          A Helm upgrade moves the store from chart{' '}
          {store.chartVersion ?? '(version unknown)'}
          {store.helmRevision ? `, revision ${store.helmRevision},` : ''} to the
          chart this Storeplane ships. The store keeps serving meanwhile; if it
          does not pass its availability and health checks, it is rolled back to
          the current revision.
        </DialogContentText>
      </DialogContent>
      <DialogActions>
        <Button onClick={onCancel} disabled={busy}>
          Cancel
        </Button>
        <Button
          onClick={onConfirm}
          disabled={busy}
          color="primary"
          variant="contained"
        >
          Upgrade store
        </Button>
      </DialogActions>
    </Dialog>
  );
};
