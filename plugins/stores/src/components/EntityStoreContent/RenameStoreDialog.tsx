import { useState } from 'react';
import Button from '@material-ui/core/Button';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogTitle from '@material-ui/core/DialogTitle';
import TextField from '@material-ui/core/TextField';
import {
  Store,
  storeDisplayNameSchema,
} from '@storeplane/plugin-stores-common';

/** Asks for a store's new display name, checked by the same rules as the backend's. */
export const RenameStoreDialog = (props: {
  store: Store;
  open: boolean;
  busy: boolean;
  onCancel: () => void;
  onConfirm: (displayName: string) => void;
}) => {
  const { store, open, busy, onCancel, onConfirm } = props;
  const [value, setValue] = useState(store.displayName);
  const parsed = storeDisplayNameSchema.safeParse(value);
  const problem = parsed.success ? undefined : parsed.error.issues[0]?.message;
  const unchanged = parsed.success && parsed.data === store.displayName;
  return (
    <Dialog
      open={open}
      onClose={onCancel}
      aria-labelledby="rename-store-dialog-title"
      TransitionProps={{ onEnter: () => setValue(store.displayName) }}
    >
      <DialogTitle id="rename-store-dialog-title">Rename store</DialogTitle>
      <DialogContent>
        <TextField
          id="rename-store-display-name"
          fullWidth
          label="Display name"
          value={value}
          onChange={e => setValue(e.target.value)}
          error={Boolean(problem)}
          helperText={
            problem ??
            `Shown on the Store tab, the Stores page and in the catalog. The address and namespace (${store.namespace}) stay as they are.`
          }
        />
      </DialogContent>
      <DialogActions>
        <Button onClick={onCancel} disabled={busy}>
          Cancel
        </Button>
        <Button
          onClick={() => parsed.success && onConfirm(parsed.data)}
          disabled={busy || !parsed.success || unchanged}
          color="primary"
          variant="contained"
        >
          Rename
        </Button>
      </DialogActions>
    </Dialog>
  );
};
