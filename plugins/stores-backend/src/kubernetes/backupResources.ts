import { KubernetesObject } from '@kubernetes/client-node';
import { formatMebibytes, formatMillicores } from '../engines/quantity';
import { DatabaseBackup } from '../engines/types';
import {
  CREDENTIALS_SECRET,
  StoreIdentity,
  storeLabels,
} from './storeResources';

/** The store's backups volume (a PVC in the store namespace). */
export const BACKUPS_PVC = 'storeplane-backups';
/** Where the backup Job mounts the backups volume. */
export const BACKUPS_DIR = '/backups';
/** Labels every backup Job and its pods carry. */
export const BACKUP_ROLE_SELECTOR = 'storeplane.io/role=backup';

/** A backup's file on the backups volume: its id, which the backend generated (a UUID). */
export function backupFile(backupId: string): string {
  if (!/^[a-z0-9-]{1,64}$/.test(backupId)) {
    throw new Error(`Backup id ${JSON.stringify(backupId)} is not a file name`);
  }
  return `${BACKUPS_DIR}/${backupId}.sql.gz`;
}

export function backupJobName(backupId: string): string {
  return `backup-${backupId}`.slice(0, 63).replace(/-+$/, '');
}

export function backupsPvcManifest(options: {
  store: StoreIdentity;
  sizeBytes: number;
  storageClass: string;
}): KubernetesObject {
  const { store, sizeBytes, storageClass } = options;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: BACKUPS_PVC,
      namespace: store.namespace,
      labels: storeLabels(store),
    },
    spec: {
      accessModes: ['ReadWriteOnce'],
      ...(storageClass ? { storageClassName: storageClass } : {}),
      resources: { requests: { storage: formatMebibytes(sizeBytes) } },
    },
  } as KubernetesObject;
}

/**
 * Dumps the database in one consistent transaction, gzip'd, to a partial file it renames when
 * complete (a failed dump never looks like a backup), then removes the files retention gave
 * up (its arguments), and ends with the dump's size in bytes as the termination message.
 */
const DUMP_SCRIPT = [
  'set -euo pipefail',
  'file="$BACKUP_FILE"',
  'mariadb-dump --host="$DB_HOST" --port="$DB_PORT" --user="$DB_USER" --single-transaction --quick --routines --triggers "$DB_NAME" | gzip > "$file.partial"',
  'mv "$file.partial" "$file"',
  'rm -f -- "$@"',
  'stat -c %s "$file" > /dev/termination-log',
].join('\n');

/**
 * Loads a dump into the database: refuses a missing or corrupt file, saying why, before touching
 * the database (gzip -t), then streams it into mariadb, and reports `restored`.
 */
const RESTORE_SCRIPT = [
  'set -euo pipefail',
  'test -s "$BACKUP_FILE" || { echo "$BACKUP_FILE is missing or empty: nothing was restored" >&2; exit 1; }',
  'gzip -t "$BACKUP_FILE"',
  'gunzip -c "$BACKUP_FILE" | mariadb --host="$DB_HOST" --port="$DB_PORT" --user="$DB_USER" "$DB_NAME"',
  'echo restored > /dev/termination-log',
].join('\n');

export function restoreJobName(backupId: string): string {
  return `restore-${backupId}`.slice(0, 63).replace(/-+$/, '');
}

/**
 * One backup of the store's database. Runs once (backoffLimit 0): the reconciler records a
 * failure and the user asks again. Meets the restricted Pod Security level like every store pod.
 */
export function backupJobManifest(options: {
  store: StoreIdentity;
  backup: DatabaseBackup;
  backupId: string;
  /** Files of backups past the retention count, removed after this dump succeeds. */
  expiredFiles: string[];
}): KubernetesObject {
  const { store, backup, backupId, expiredFiles } = options;
  for (const file of expiredFiles) {
    if (!file.startsWith(`${BACKUPS_DIR}/`) || file.includes('..')) {
      throw new Error(`${file} is not a file on the backups volume`);
    }
  }
  return databaseJobManifest({
    store,
    backup,
    backupId,
    name: backupJobName(backupId),
    role: 'backup',
    command: ['bash', '-c', DUMP_SCRIPT, 'backup', ...expiredFiles],
    backupsReadOnly: false,
    ttlSecondsAfterFinished: 86400,
  });
}

/**
 * Loads one backup into the store's database (the contract the test control plane's kubelet
 * stand-in runs too). Runs once; the backups volume is mounted read-only. Its short time to
 * live after it finished lets the same backup be restored again soon.
 */
export function restoreJobManifest(options: {
  store: StoreIdentity;
  backup: DatabaseBackup;
  backupId: string;
}): KubernetesObject {
  return databaseJobManifest({
    ...options,
    name: restoreJobName(options.backupId),
    role: 'restore',
    command: ['bash', '-c', RESTORE_SCRIPT, 'restore'],
    backupsReadOnly: true,
    ttlSecondsAfterFinished: 600,
  });
}

function databaseJobManifest(options: {
  store: StoreIdentity;
  backup: DatabaseBackup;
  backupId: string;
  name: string;
  role: 'backup' | 'restore';
  command: string[];
  backupsReadOnly: boolean;
  ttlSecondsAfterFinished: number;
}): KubernetesObject {
  const { store, backup, backupId, name, role, command, backupsReadOnly } =
    options;
  const labels = {
    ...storeLabels(store),
    'storeplane.io/role': role,
    'storeplane.io/backup-id': backupId,
  };
  const { resources } = backup;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: store.namespace,
      labels,
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: 3600,
      ttlSecondsAfterFinished: options.ttlSecondsAfterFinished,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: backup.runAsUser,
            runAsGroup: backup.runAsUser,
            fsGroup: backup.runAsUser,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: role,
              image: backup.image,
              command,
              env: [
                { name: 'BACKUP_FILE', value: backupFile(backupId) },
                { name: 'DB_HOST', value: backup.host },
                { name: 'DB_PORT', value: String(backup.port) },
                { name: 'DB_NAME', value: backup.database },
                { name: 'DB_USER', value: backup.user },
                {
                  name: 'MYSQL_PWD',
                  valueFrom: {
                    secretKeyRef: {
                      name: CREDENTIALS_SECRET,
                      key: backup.passwordKey,
                    },
                  },
                },
              ],
              resources: {
                requests: {
                  cpu: formatMillicores(resources.requestsCpu),
                  memory: formatMebibytes(resources.requestsMemory),
                },
                limits: {
                  cpu: formatMillicores(resources.limitsCpu),
                  memory: formatMebibytes(resources.limitsMemory),
                },
              },
              terminationMessagePolicy: 'FallbackToLogsOnError',
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [
                {
                  name: 'backups',
                  mountPath: BACKUPS_DIR,
                  ...(backupsReadOnly ? { readOnly: true } : {}),
                },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            {
              name: 'backups',
              persistentVolumeClaim: {
                claimName: BACKUPS_PVC,
                ...(backupsReadOnly ? { readOnly: true } : {}),
              },
            },
            { name: 'tmp', emptyDir: {} },
          ],
        },
      },
    },
  } as KubernetesObject;
}
