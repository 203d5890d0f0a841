import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import {
  ConflictError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import {
  StoreBackup,
  storeBackupPermission,
  storeReadPermission,
  storeRestorePermission,
} from '@storeplane/plugin-stores-common';
import { Response, Router } from 'express';
import { StoreRouteContext } from './routeContext';
import { toStoreView } from './storeView';
import { BackupRecord, BackupRepository } from '../database/BackupRepository';
import { RestoreRepository } from '../database/RestoreRepository';
import { StoreRepository } from '../database/StoreRepository';
import { StoresConfig } from '../config/readStoresConfig';
import { EngineRegistry } from '../engines/EngineRegistry';
import { backupFile } from '../kubernetes/backupResources';
import { ensureBackupReader, openBackupFile } from '../kubernetes/backupReader';
import {
  apiMessage,
  KubernetesClient,
  statusCode,
} from '../kubernetes/KubernetesClient';
import { StoreChangeListener } from '../reconciler/StoreReconciler';

/** How many backups `GET /stores/:id/backups` lists (retention keeps far fewer Succeeded ones). */
export const BACKUP_LIST_LIMIT = 100;

/** What the backup routes borrow from the stores router: its permission and audit checks. */
export interface BackupRouteContext extends StoreRouteContext {
  backups: BackupRepository;
  restores: RestoreRepository;
  repository: StoreRepository;
  engines: EngineRegistry;
  config: StoresConfig;
  /** Returns the cluster client, or throws when no cluster is configured. */
  kubernetes: () => KubernetesClient;
  onChange: StoreChangeListener;
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

/** How long a download waits for the backup reader pod to be ready. */
export const BACKUP_READER_WAIT_MS = 60_000;

/**
 * Lets a browser page on another origin read `header` of this response (CORS hides all but a
 * few): the app's frontend is usually served from another origin than the backend, and without
 * this it cannot read the download's file name. Keeps what the CORS middleware already exposes.
 */
function exposeToBrowser(res: Response, header: string) {
  const exposed = String(res.getHeader('Access-Control-Expose-Headers') ?? '')
    .split(',')
    .map(name => name.trim())
    .filter(Boolean);
  if (!exposed.some(name => name.toLowerCase() === header.toLowerCase())) {
    res.setHeader(
      'Access-Control-Expose-Headers',
      [...exposed, header].join(', '),
    );
  }
}

/** `<store id>-<UTC time of the backup, compact>.sql.gz`, e.g. `shop-20261128T093000Z.sql.gz`. */
export function backupDownloadName(storeId: string, createdAt: number): string {
  const compact = new Date(createdAt)
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/[-:]/g, '');
  return `${storeId}-${compact}.sql.gz`;
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
  const {
    backups,
    restores,
    repository,
    wakeReconciler,
    authorizeStore,
    audited,
    actorOf,
  } = context;

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

  /**
   * Streams the dump from the store's backup reader pod through the API server's pod proxy,
   * never holding the whole file: the audit event records that the download started.
   */
  router.get('/stores/:id/backups/:backupId/download', async (req, res) => {
    const { backup, body } = await audited(
      req,
      'store-backup-download',
      { storeId: req.params.id, backupId: req.params.backupId },
      async () => {
        const { store } = await authorizeStore(req, storeBackupPermission);
        const found = await backups.getBackup(store.id, req.params.backupId);
        if (!found) {
          throw new NotFoundError(
            `Store '${store.id}' has no backup '${req.params.backupId}'`,
          );
        }
        if (found.status !== 'Succeeded') {
          throw new ConflictError(
            `Backup ${found.id} is ${found.status}; only a Succeeded backup can be downloaded`,
          );
        }
        const databaseBackup = context.engines.get(store.engine).databaseBackup;
        if (!databaseBackup) {
          throw new ConflictError(
            `The ${store.engine} engine has no database backups`,
          );
        }
        let kube: KubernetesClient;
        try {
          kube = context.kubernetes();
        } catch (error) {
          throw new ServiceUnavailableError(
            `No Kubernetes cluster is configured, so the backup cannot be read: ${
              (error as Error).message
            }`,
          );
        }
        try {
          await ensureBackupReader(kube, {
            store,
            image: context.config.backups.readerImage,
            runAsUser: databaseBackup.runAsUser,
            waitMs: BACKUP_READER_WAIT_MS,
          });
          return {
            backup: found,
            body: await openBackupFile(kube, {
              namespace: store.namespace,
              backupId: found.id,
              headersWithinMs: context.config.kubernetes.requestTimeoutMs,
            }),
          };
        } catch (error) {
          if (
            error instanceof NotFoundError ||
            error instanceof ServiceUnavailableError
          )
            throw error;
          if (statusCode(error) === 403) {
            throw new ServiceUnavailableError(
              `Kubernetes refused Storeplane's request for the backup reader pod (403): ${
                apiMessage(error) ?? (error as Error).message
              }. Storeplane's service account lacks this permission; check the ClusterRoles from the storeplane-rbac chart`,
            );
          }
          throw new ServiceUnavailableError(
            `The backup cannot be read from the cluster now: ${
              (error as Error).message
            }; try again in a minute`,
          );
        }
      },
    );
    res.setHeader('Content-Type', 'application/gzip');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader(
      'Content-Disposition',
      `attachment; filename="${backupDownloadName(
        backup.storeId,
        backup.createdAt,
      )}"`,
    );
    exposeToBrowser(res, 'Content-Disposition');
    const length = body.headers['content-length'];
    if (length && /^\d+$/.test(length)) res.setHeader('Content-Length', length);
    // A client that goes away stops the read from the cluster; a read that breaks off ends the
    // response short of its Content-Length, which the client sees as a failed download.
    await pipeline(body, res).catch(() => {
      body.destroy();
      res.destroy();
    });
  });

  router.post('/stores/:id/backups/:backupId/restore', async (req, res) => {
    const store = await audited(
      req,
      'store-restore-request',
      { storeId: req.params.id, backupId: req.params.backupId },
      async () => {
        const { store: seen, credentials } = await authorizeStore(
          req,
          storeRestorePermission,
        );
        const result = await restores.requestRestore({
          id: randomUUID(),
          storeId: seen.id,
          backupId: req.params.backupId,
          requestedBy: actorOf(credentials),
        });
        if (result === 'storeNotFound') {
          throw new NotFoundError(`Store '${seen.id}' does not exist`);
        }
        if (result === 'backupNotFound') {
          throw new NotFoundError(
            `Store '${seen.id}' has no backup '${req.params.backupId}'`,
          );
        }
        if (result === 'backupNotSucceeded') {
          throw new ConflictError(
            `Backup ${req.params.backupId} has not Succeeded; only a Succeeded backup can be restored`,
          );
        }
        if (result === 'storeNotReady') {
          throw new ConflictError(
            `Store '${seen.id}' is ${seen.status}${
              seen.step ? ` (step ${seen.step})` : ''
            }; only a Ready or Degraded store can be restored. Try again once it is Ready`,
          );
        }
        if (result === 'backupInProgress') {
          throw new ConflictError(
            `Store '${seen.id}' has a backup that has not finished; wait for it, then restore`,
          );
        }
        return (await repository.getStore(seen.id))!;
      },
    );
    context.onChange(store.id, 'Restoring');
    wakeReconciler();
    res.status(202).json(toStoreView(store));
  });
}
