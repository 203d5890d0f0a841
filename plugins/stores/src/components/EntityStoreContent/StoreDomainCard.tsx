import { useState } from 'react';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Chip from '@material-ui/core/Chip';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogTitle from '@material-ui/core/DialogTitle';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import { InfoCard, Progress } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { ResponseError } from '@backstage/errors';
import { usePermission } from '@backstage/plugin-permission-react';
import {
  Store,
  StoreDomain,
  storeUpdatePermission,
} from '@storeplane/plugin-stores-common';
import { storesApiRef } from '../../api';
import { ConfirmStoreActionDialog } from './ConfirmStoreActionDialog';

const IP_ADDRESS = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:]*)$/i;

/** What record the owner creates at their DNS provider. */
function dnsInstruction(domain: string, target: string): string {
  if (!IP_ADDRESS.test(target)) {
    return `Create a CNAME record for ${domain} pointing at ${target}.`;
  }
  return `Create an ${
    target.includes(':') ? 'AAAA' : 'A'
  } record for ${domain} with the address ${target}.`;
}

const DomainStatus = ({ domain }: { domain: StoreDomain }) => {
  if (domain.status === 'Active')
    return <Chip size="small" label="Active" color="primary" />;
  if (domain.status === 'AwaitingDns')
    return <Chip size="small" label="Awaiting DNS" />;
  return <Chip size="small" label="Being applied" variant="outlined" />;
};

const SetDomainDialog = (props: {
  open: boolean;
  busy: boolean;
  current: string | null;
  error?: Error;
  onCancel: () => void;
  onConfirm: (domain: string) => void;
}) => {
  const [value, setValue] = useState('');
  const domain = value.trim().toLowerCase();
  return (
    <Dialog
      open={props.open}
      onClose={props.onCancel}
      aria-labelledby="set-domain-dialog-title"
      TransitionProps={{ onEnter: () => setValue(props.current ?? '') }}
    >
      <DialogTitle id="set-domain-dialog-title">Set custom domain</DialogTitle>
      <DialogContent>
        <TextField
          id="set-domain-value"
          fullWidth
          label="Domain"
          placeholder="shop.example.com"
          value={value}
          onChange={e => setValue(e.target.value)}
          helperText="The store keeps answering on its platform address. A Helm upgrade adds the domain; then it waits until its DNS points at the address shown."
        />
        {props.error && (
          <Box mt={2}>
            <Alert severity="error">{props.error.message}</Alert>
          </Box>
        )}
      </DialogContent>
      <DialogActions>
        <Button onClick={props.onCancel} disabled={props.busy}>
          Cancel
        </Button>
        <Button
          onClick={() => props.onConfirm(domain)}
          disabled={props.busy || !domain || domain === props.current}
          color="primary"
          variant="contained"
        >
          Set domain
        </Button>
      </DialogActions>
    </Dialog>
  );
};

/**
 * The store's custom domain: its DNS status and where to point it, and, for whoever may
 * change the store, Set and Remove (with a confirmation).
 */
export const StoreDomainCard = (props: {
  store: Store;
  entityRef: string;
  onChanged: () => void;
}) => {
  const { store, entityRef, onChanged } = props;
  const storesApi = useApi(storesApiRef);
  const updatePermission = usePermission({
    permission: storeUpdatePermission,
    resourceRef: entityRef,
  });
  const [dialog, setDialog] = useState<'set' | 'remove'>();
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<Error>();
  // Read again whenever the store changes (an update ending, a check turning Active).
  const domain = useAsyncRetry(
    () => storesApi.getStoreDomain(store.id),
    [storesApi, store.id, store.updatedAt],
  );

  /** A refused Set keeps its dialog open with the reason, so the domain can be fixed. */
  const run = async (
    action: () => Promise<unknown>,
    keepOpenOnError = false,
  ) => {
    setBusy(true);
    setActionError(undefined);
    try {
      await action();
      setDialog(undefined);
      domain.retry();
      onChanged();
    } catch (e) {
      // The backend's message says what to do (e.g. why a domain is refused).
      setActionError(
        ResponseError.is(e) ? new Error(e.body.error.message) : (e as Error),
      );
      if (!keepOpenOnError) setDialog(undefined);
    } finally {
      setBusy(false);
    }
  };

  const current = domain.value;
  const changeable =
    updatePermission.allowed &&
    (store.status === 'Ready' || store.status === 'Degraded') &&
    Boolean(current?.expectedTarget);

  return (
    <InfoCard title="Custom domain">
      {domain.loading && !current && <Progress />}
      {domain.error && !current && (
        <Alert severity="error">{domain.error.message}</Alert>
      )}
      {current && (
        <Box display="flex" flexDirection="column" gridGap={8}>
          {current.domain ? (
            <Box display="flex" alignItems="center" gridGap={8}>
              <Typography variant="h6" component="p">
                {current.domain}
              </Typography>
              <DomainStatus domain={current} />
            </Box>
          ) : (
            <Typography variant="body2" color="textSecondary">
              No custom domain: the store answers on its platform address
              {store.storefrontUrl ? ` ${store.storefrontUrl}` : ''}.
            </Typography>
          )}
          {current.domain && current.expectedTarget && (
            <Typography variant="body2">
              {dnsInstruction(current.domain, current.expectedTarget)}
            </Typography>
          )}
          {!current.expectedTarget && (
            <Typography variant="body2" color="textSecondary">
              Custom domains are off on this Storeplane (an administrator sets
              storeplane.domains.ingressAddress to turn them on).
            </Typography>
          )}
          {current.message && (
            <Typography variant="body2" color="textSecondary" role="status">
              {current.message}
              {current.checkedAt
                ? ` (checked ${new Date(current.checkedAt).toLocaleString()})`
                : ''}
            </Typography>
          )}
          {actionError && dialog === undefined && (
            <Alert severity="error">{actionError.message}</Alert>
          )}
          {changeable && (
            <Box display="flex" gridGap={8}>
              <Button variant="outlined" onClick={() => setDialog('set')}>
                {current.domain ? 'Change domain' : 'Set domain'}
              </Button>
              {current.domain && (
                <Button variant="outlined" onClick={() => setDialog('remove')}>
                  Remove domain
                </Button>
              )}
            </Box>
          )}
        </Box>
      )}
      <SetDomainDialog
        open={dialog === 'set'}
        busy={busy}
        current={current?.domain ?? null}
        error={dialog === 'set' ? actionError : undefined}
        onCancel={() => {
          setDialog(undefined);
          setActionError(undefined);
        }}
        onConfirm={value =>
          run(() => storesApi.setStoreDomain(store.id, value), true)
        }
      />
      <ConfirmStoreActionDialog
        id="remove-domain-dialog"
        title={`Remove ${current?.domain ?? 'the custom domain'}?`}
        confirmLabel="Remove domain"
        confirmColor="secondary"
        open={dialog === 'remove'}
        busy={busy}
        onCancel={() => setDialog(undefined)}
        onConfirm={() => run(() => storesApi.removeStoreDomain(store.id))}
      >
        A Helm upgrade takes the domain off the store, which then answers on its
        platform address only. Visitors who use the domain will no longer reach
        the store.
      </ConfirmStoreActionDialog>
    </InfoCard>
  );
};
