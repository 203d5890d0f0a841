import Button from '@material-ui/core/Button';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogContentText from '@material-ui/core/DialogContentText';
import DialogTitle from '@material-ui/core/DialogTitle';
import { ReactNode } from 'react';

/** A confirmation before an action on a store: says what it does, then Cancel or the action. */
export const ConfirmStoreActionDialog = (props: {
  /** Prefix of the title's element id, which labels the dialog. */
  id: string;
  title: ReactNode;
  confirmLabel: string;
  confirmColor: 'primary' | 'secondary';
  open: boolean;
  busy: boolean;
  onCancel: () => void;
  onConfirm: () => void;
  children: ReactNode;
}) => {
  const { id, title, confirmLabel, confirmColor, open, busy } = props;
  return (
    <Dialog
      open={open}
      onClose={props.onCancel}
      aria-labelledby={`${id}-title`}
    >
      <DialogTitle id={`${id}-title`}>{title}</DialogTitle>
      <DialogContent>
        <DialogContentText>{props.children}</DialogContentText>
      </DialogContent>
      <DialogActions>
        <Button onClick={props.onCancel} disabled={busy}>
          Cancel
        </Button>
        <Button
          onClick={props.onConfirm}
          disabled={busy}
          color={confirmColor}
          variant="contained"
        >
          {confirmLabel}
        </Button>
      </DialogActions>
    </Dialog>
  );
};
