import { createWooCommerceEngine } from '../engines/woocommerceEngine';
import {
  BACKUPS_PVC,
  backupFile,
  backupJobManifest,
  backupsPvcManifest,
  restoreJobManifest,
} from './backupResources';
import { CREDENTIALS_SECRET } from './storeResources';

const store = {
  id: 'shop-x1y2z',
  namespace: 'store-shop-x1y2z',
  owner: 'group:default/shop-team',
  engine: 'woocommerce',
  plan: 'small',
};
const backup = createWooCommerceEngine({ chartPath: '/unused' })
  .databaseBackup!;
const ID = '0b9d6f1e-4a0c-4c4e-9a53-1f0e2b3c4d5e';

describe('backup resources', () => {
  it('runs one dump as non-root with no privileges, the password from the store Secret', () => {
    const job = backupJobManifest({
      store,
      backup,
      backupId: ID,
      expiredFiles: ['/backups/old.sql.gz'],
    }) as any;
    expect(job.metadata).toMatchObject({
      name: `backup-${ID}`,
      namespace: store.namespace,
    });
    expect(job.spec.backoffLimit).toBe(0);
    const pod = job.spec.template.spec;
    expect(job.spec.template.metadata.labels).toMatchObject({
      'storeplane.io/role': 'backup',
      'storeplane.io/backup-id': ID,
      'storeplane.io/store-id': store.id,
    });
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 999,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    const [container] = pod.containers;
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.image).toBe('mariadb:11.4');
    // The script's positional arguments are the expired files it removes.
    expect(container.command.slice(0, 2)).toEqual(['bash', '-c']);
    expect(container.command[2]).toContain('mariadb-dump');
    expect(container.command.slice(3)).toEqual([
      'backup',
      '/backups/old.sql.gz',
    ]);
    const env = Object.fromEntries(
      container.env.map((e: any) => [e.name, e.value ?? e.valueFrom]),
    );
    expect(env).toEqual({
      BACKUP_FILE: `/backups/${ID}.sql.gz`,
      DB_HOST: 'woocommerce-mariadb',
      DB_PORT: '3306',
      DB_NAME: 'wordpress',
      DB_USER: 'wordpress',
      MYSQL_PWD: {
        secretKeyRef: { name: CREDENTIALS_SECRET, key: 'database-password' },
      },
    });
    expect(pod.volumes).toContainEqual({
      name: 'backups',
      persistentVolumeClaim: { claimName: BACKUPS_PVC },
    });
  });

  it('refuses a file outside the backups volume and an id that is not a file name', () => {
    expect(() =>
      backupJobManifest({
        store,
        backup,
        backupId: ID,
        expiredFiles: ['/backups/../var/lib/mysql'],
      }),
    ).toThrow('not a file on the backups volume');
    expect(() => backupFile('../x')).toThrow('not a file name');
    expect(backupFile(ID)).toBe(`/backups/${ID}.sql.gz`);
  });

  it('claims the backups volume in the store storage class', () => {
    const pvc = backupsPvcManifest({
      store,
      sizeBytes: 2 * 1024 ** 3,
      storageClass: 'fast',
    }) as any;
    expect(pvc.metadata.name).toBe(BACKUPS_PVC);
    expect(pvc.spec).toEqual({
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'fast',
      resources: { requests: { storage: '2Gi' } },
    });
    expect(
      (
        backupsPvcManifest({
          store,
          sizeBytes: 1024 ** 3,
          storageClass: '',
        }) as any
      ).spec.storageClassName,
    ).toBeUndefined();
  });
});

describe('restoreJobManifest', () => {
  it('keeps the contract: name, labels, read-only backups volume, the restore script and its env', () => {
    const id = 'a'.repeat(60);
    const job = restoreJobManifest({
      store,
      backup: createWooCommerceEngine({ chartPath: '/unused' }).databaseBackup!,
      backupId: id,
    }) as any;
    expect(job.metadata.name).toBe(`restore-${id}`.slice(0, 63));
    expect(job.metadata.labels).toMatchObject({
      'storeplane.io/role': 'restore',
      'storeplane.io/backup-id': id,
    });
    expect(job.spec.backoffLimit).toBe(0);
    const [container] = job.spec.template.spec.containers;
    expect(container.command[0]).toBe('bash');
    expect(container.command[2]).toMatch(/^set -euo pipefail\n/);
    expect(container.command[2]).toContain(
      'gunzip -c "$BACKUP_FILE" | mariadb --host="$DB_HOST" --port="$DB_PORT" --user="$DB_USER" "$DB_NAME"',
    );
    expect(container.command[2]).toContain(
      'echo restored > /dev/termination-log',
    );
    expect(container.command[3]).toBe('restore');
    expect(container.volumeMounts).toEqual([
      { name: 'backups', mountPath: '/backups', readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ]);
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
  });
});
