import { useState } from 'react';
import Button from '@material-ui/core/Button';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogContentText from '@material-ui/core/DialogContentText';
import DialogTitle from '@material-ui/core/DialogTitle';
import MenuItem from '@material-ui/core/MenuItem';
import TextField from '@material-ui/core/TextField';
import Alert from '@material-ui/lab/Alert';
import { useApi } from '@backstage/core-plugin-api';
import useAsync from 'react-use/esm/useAsync';
import { Store } from '@storeplane/plugin-stores-common';
import { storesApiRef } from '../../api';

/** Picks another plan of `GET /plans`; the backend refuses one the store cannot move to. */
export const ChangePlanDialog = (props: {
  store: Store;
  open: boolean;
  busy: boolean;
  onCancel: () => void;
  onConfirm: (plan: string) => void;
}) => {
  const { store, open, busy, onCancel, onConfirm } = props;
  const storesApi = useApi(storesApiRef);
  const plans = useAsync(
    async () => (open ? (await storesApi.listPlans()).items : []),
    [open],
  );
  const [plan, setPlan] = useState(store.plan);
  return (
    <Dialog
      open={open}
      onClose={onCancel}
      aria-labelledby="change-plan-dialog-title"
      TransitionProps={{ onEnter: () => setPlan(store.plan) }}
    >
      <DialogTitle id="change-plan-dialog-title">
        Change the plan of {store.displayName}?
      </DialogTitle>
      <DialogContent>
        <DialogContentText>
          The store keeps serving while a Helm upgrade resizes it and its
          guardrails. If it does not pass its availability and health checks, it
          is rolled back to the current plan.
        </DialogContentText>
        {plans.error && (
          <Alert severity="error">
            Plans could not be loaded: {plans.error.message}
          </Alert>
        )}
        <TextField
          id="change-plan-select"
          select
          fullWidth
          label="Plan"
          value={plans.value?.length ? plan : ''}
          onChange={e => setPlan(e.target.value as string)}
        >
          {(plans.value ?? []).map(p => (
            <MenuItem key={p.name} value={p.name}>
              {p.title}
              {p.description ? ` — ${p.description}` : ''}
            </MenuItem>
          ))}
        </TextField>
      </DialogContent>
      <DialogActions>
        <Button onClick={onCancel} disabled={busy}>
          Cancel
        </Button>
        <Button
          onClick={() => onConfirm(plan)}
          disabled={busy || plan === store.plan}
          color="primary"
          variant="contained"
        >
          Change plan
        </Button>
      </DialogActions>
    </Dialog>
  );
};
