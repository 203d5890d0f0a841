import { useState } from 'react';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Chip from '@material-ui/core/Chip';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import { InfoCard, Progress } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { ResponseError } from '@backstage/errors';
import { usePermission } from '@backstage/plugin-permission-react';
import {
  Store,
  StoreBackup,
  storeBackupPermission,
} from '@storeplane/plugin-stores-common';
import { storesApiRef } from '../../api';
import { relativeTime } from '../shared';

const UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];

/** "48213" → "47.1 KiB". */
export function formatSize(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0
    ? `${bytes} bytes`
    : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

const BackupStatus = ({ backup }: { backup: StoreBackup }) => {
  if (backup.status === 'Succeeded')
    return <Chip size="small" label="Succeeded" color="primary" />;
  if (backup.status === 'Failed')
    return <Chip size="small" label="Failed" color="secondary" />;
  return <Chip size="small" label={backup.status} variant="outlined" />;
};

const Time = ({ iso }: { iso: string }) => (
  <time dateTime={iso} title={new Date(iso).toLocaleString()}>
    {relativeTime(iso)}
  </time>
);

/**
 * The store's backups (status, size, time; why one failed) and, for whoever may back the
 * store up, "Back up now". `activityKey` changes with the store's newest event, so the list
 * follows the reconciler running the backup.
 */
export const StoreBackupsCard = (props: {
  store: Store;
  entityRef: string;
  activityKey?: number;
}) => {
  const { store, entityRef, activityKey } = props;
  const storesApi = useApi(storesApiRef);
  const backupPermission = usePermission({
    permission: storeBackupPermission,
    resourceRef: entityRef,
  });
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<Error>();
  const backups = useAsyncRetry(
    () => storesApi.listBackups(store.id),
    [storesApi, store.id, store.updatedAt, activityKey],
  );

  const backUp = async () => {
    setBusy(true);
    setRefusal(undefined);
    try {
      await storesApi.requestBackup(store.id);
      backups.retry();
    } catch (e) {
      // The backend says why (not Ready, one already running) and what to do.
      setRefusal(
        ResponseError.is(e) ? new Error(e.body.error.message) : (e as Error),
      );
    } finally {
      setBusy(false);
    }
  };

  const items = backups.value?.items;
  const unfinished = items?.some(
    b => b.status === 'Pending' || b.status === 'Running',
  );

  return (
    <InfoCard title="Backups">
      <Box display="flex" flexDirection="column" gridGap={8}>
        {backups.loading && !items && <Progress />}
        {backups.error && !items && (
          <Alert severity="error">{backups.error.message}</Alert>
        )}
        {items && items.length === 0 && (
          <Typography variant="body2" color="textSecondary">
            No backups yet.
          </Typography>
        )}
        {items && items.length > 0 && (
          <Table size="small" aria-label="Backups">
            <TableHead>
              <TableRow>
                <TableCell>Status</TableCell>
                <TableCell>Size</TableCell>
                <TableCell>Asked for</TableCell>
                <TableCell>Finished</TableCell>
                <TableCell>By</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {items.map(backup => (
                <TableRow key={backup.id}>
                  <TableCell>
                    <BackupStatus backup={backup} />
                    {backup.message && (
                      <Typography variant="body2" color="textSecondary">
                        {backup.message}
                      </Typography>
                    )}
                  </TableCell>
                  <TableCell>
                    {backup.sizeBytes === null
                      ? '–'
                      : formatSize(backup.sizeBytes)}
                  </TableCell>
                  <TableCell>
                    <Time iso={backup.createdAt} />
                  </TableCell>
                  <TableCell>
                    {backup.finishedAt ? <Time iso={backup.finishedAt} /> : '–'}
                  </TableCell>
                  <TableCell>{backup.requestedBy}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
        {refusal && <Alert severity="error">{refusal.message}</Alert>}
        {backupPermission.allowed && (
          <Box display="flex" alignItems="center" gridGap={8}>
            <Button
              variant="outlined"
              onClick={backUp}
              disabled={busy || store.status !== 'Ready' || unfinished}
            >
              Back up now
            </Button>
            {store.status !== 'Ready' && (
              <Typography variant="body2" color="textSecondary">
                Only a Ready store can be backed up.
              </Typography>
            )}
            {store.status === 'Ready' && unfinished && (
              <Typography variant="body2" color="textSecondary">
                A backup is running; one runs at a time.
              </Typography>
            )}
          </Box>
        )}
      </Box>
    </InfoCard>
  );
};
