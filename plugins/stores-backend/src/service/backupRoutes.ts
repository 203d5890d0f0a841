import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError } from '@backstage/errors';
import {
  StoreBackup,
  storeBackupPermission,
  storeReadPermission,
} from '@storeplane/plugin-stores-common';
import { Router } from 'express';
import { StoreRouteContext } from './routeContext';
import { BackupRecord, BackupRepository } from '../database/BackupRepository';
import { backupFile } from '../kubernetes/backupResources';

/** How many backups `GET /stores/:id/backups` lists (retention keeps far fewer Succeeded ones). */
export const BACKUP_LIST_LIMIT = 100;

/** What the backup routes borrow from the stores router: its permission and audit checks. */
export interface BackupRouteContext extends StoreRouteContext {
  backups: BackupRepository;
  /** Asks the reconciler to look at due stores now (the request made the store due). */
  wakeReconciler: () => void;
}

export function toBackupView(backup: BackupRecord): StoreBackup {
  return {
    id: backup.id,
    status: backup.status,
    requestedBy: backup.requestedBy,
    sizeBytes: backup.sizeBytes,
    createdAt: new Date(backup.createdAt).toISOString(),
    finishedAt:
      backup.finishedAt === null
        ? null
        : new Date(backup.finishedAt).toISOString(),
    message: backup.message,
  };
}

/**
 * `GET|POST /stores/:id/backups` (a body other than an empty object is refused by the
 * OpenAPI validator first). The request only records the backup; the reconciler runs its Job
 * while it holds the store (see reconciler/backupRun.ts).
 */
export function registerBackupRoutes(
  router: Router,
  context: BackupRouteContext,
) {
  const { backups, wakeReconciler, authorizeStore, audited, actorOf } = context;

  router.get('/stores/:id/backups', async (req, res) => {
    const { store } = await authorizeStore(req, storeReadPermission);
    const items = await backups.listBackups(store.id, BACKUP_LIST_LIMIT);
    res.setHeader('Cache-Control', 'no-store');
    res.json({ items: items.map(toBackupView) });
  });

  router.post('/stores/:id/backups', async (req, res) => {
    const backup = await audited(
      req,
      'store-backup-request',
      { storeId: req.params.id },
      async () => {
        const { store, credentials } = await authorizeStore(
          req,
          storeBackupPermission,
        );
        const id = randomUUID();
        const result = await backups.requestBackup({
          id,
          storeId: store.id,
          requestedBy: actorOf(credentials),
          file: backupFile(id),
        });
        if (result === 'storeNotFound') {
          throw new NotFoundError(`Store '${store.id}' does not exist`);
        }
        if (result === 'storeNotReady') {
          throw new ConflictError(
            `Store '${store.id}' is ${
              store.status === 'Ready' ? 'no longer Ready' : store.status
            }; only a Ready store can be backed up. Try again once it is Ready`,
          );
        }
        if (result === 'backupInProgress') {
          throw new ConflictError(
            `Store '${store.id}' already has a backup that has not finished; one backup runs at a time, so wait for it and ask again`,
          );
        }
        return result;
      },
    );
    wakeReconciler();
    res.status(202).json(toBackupView(backup));
  });
}
