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
  storeRestorePermission,
} from '@storeplane/plugin-stores-common';
import { storesApiRef } from '../../api';
import { relativeTime } from '../shared';
import { ConfirmStoreActionDialog } from './ConfirmStoreActionDialog';

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

/** Hands a downloaded file to the browser, which saves it under `fileName`. */
function saveFile(fileName: string, content: Blob) {
  const url = URL.createObjectURL(content);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.appendChild(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}

const errorOf = (e: unknown) =>
  ResponseError.is(e) ? new Error(e.body.error.message) : (e as Error);

/**
 * The store's backups (status, size, time; why one failed) and, for whoever may back the
 * store up, "Back up now" and a Download of each Succeeded backup; for whoever may restore,
 * Restore (after a confirmation: it replaces the store's data). `activityKey` changes with
 * the store's newest event, so the list follows the reconciler running the backup.
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
  const restorePermission = usePermission({
    permission: storeRestorePermission,
    resourceRef: entityRef,
  });
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<Error>();
  const [downloading, setDownloading] = useState<string>();
  const [restoring, setRestoring] = useState<StoreBackup>();
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
      setRefusal(errorOf(e));
    } finally {
      setBusy(false);
    }
  };

  const download = async (backup: StoreBackup) => {
    setDownloading(backup.id);
    setRefusal(undefined);
    try {
      const file = await storesApi.downloadBackup(store.id, backup.id);
      saveFile(file.fileName, file.content);
    } catch (e) {
      setRefusal(errorOf(e));
    } finally {
      setDownloading(undefined);
    }
  };

  const restore = async () => {
    if (!restoring) return;
    setBusy(true);
    setRefusal(undefined);
    try {
      await storesApi.restoreBackup(store.id, restoring.id);
      backups.retry();
    } catch (e) {
      setRefusal(errorOf(e));
    } finally {
      setBusy(false);
      setRestoring(undefined);
    }
  };
  const mayRestore = store.status === 'Ready' || store.status === 'Degraded';

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
                {(backupPermission.allowed || restorePermission.allowed) && (
                  <TableCell>Actions</TableCell>
                )}
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
                  {(backupPermission.allowed || restorePermission.allowed) && (
                    <TableCell>
                      {backup.status === 'Succeeded' && (
                        <Box display="flex" gridGap={4}>
                          {backupPermission.allowed && (
                            <Button
                              size="small"
                              onClick={() => download(backup)}
                              disabled={downloading !== undefined}
                              aria-label={`Download backup of ${new Date(
                                backup.createdAt,
                              ).toLocaleString()}`}
                            >
                              {downloading === backup.id
                                ? 'Downloading…'
                                : 'Download'}
                            </Button>
                          )}
                          {restorePermission.allowed && (
                            <Button
                              size="small"
                              color="secondary"
                              onClick={() => setRestoring(backup)}
                              disabled={busy || !mayRestore || unfinished}
                              aria-label={`Restore backup of ${new Date(
                                backup.createdAt,
                              ).toLocaleString()}`}
                            >
                              Restore
                            </Button>
                          )}
                        </Box>
                      )}
                    </TableCell>
                  )}
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
        {refusal && <Alert severity="error">{refusal.message}</Alert>}
        <ConfirmStoreActionDialog
          id="restore-backup-dialog"
          title={`Restore ${store.displayName}?`}
          confirmLabel="Restore backup"
          confirmColor="secondary"
          open={restoring !== undefined}
          busy={busy}
          onCancel={() => setRestoring(undefined)}
          onConfirm={restore}
        >
          The store's database is replaced by the backup made{' '}
          {restoring ? new Date(restoring.createdAt).toLocaleString() : ''}:
          orders, customers and content added since then are lost. The store is
          Restoring until the backup is loaded and it passes its health checks
          again.
        </ConfirmStoreActionDialog>
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
