import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { setupServer } from 'msw/node';
import { FakeKubernetesApi } from '@internal/stores-test-utils';
import { storeTestDatabases } from '../__testUtils__/databases';
import { createHarness, Harness } from '../__testUtils__/harness';
import { backupJobName, restoreJobName } from '../kubernetes/backupResources';

const databases = storeTestDatabases();
const server = setupServer();
registerMswTestHooks(server);

const USER = 'user:default/ann';

// A store is provisioned and backed up before each test: more than jest's 5 s on a loaded machine.
jest.setTimeout(60_000);

describe.each(databases.eachSupportedId())(
  'restores of a store from its backup on %s',
  databaseId => {
    let fake: FakeKubernetesApi;

    beforeEach(() => {
      fake = new FakeKubernetesApi();
      server.use(...fake.handlers());
    });

    /** Runs `count` reconcile passes (5 s apart on the database clock). */
    async function passes(harness: Harness, storeId: string, count: number) {
      for (let i = 0; i < count; i++) {
        harness.clock.shiftMs += 5000;
        await harness.loop.runOnce();
      }
      return harness.repository.getStore(storeId);
    }

    /** A Ready store with one Succeeded backup `b1`. */
    async function storeWithBackup() {
      const db = await databases.init(databaseId);
      const harness = await createHarness(db);
      const created = await harness.service.createStore(
        { name: 'shop', owner: 'group:default/team-a', plan: 'small' },
        USER,
      );
      const ns = created.namespace;
      await harness.runUntil(
        created.id,
        s => s?.status === 'Ready',
        30,
        () => fake.progress(),
      );
      await harness.backups.requestBackup({
        id: 'b1',
        storeId: created.id,
        requestedBy: USER,
        file: '/backups/b1.sql.gz',
      });
      await passes(harness, created.id, 1);
      fake.completeJob(ns, backupJobName('b1'), '1024');
      await passes(harness, created.id, 1);
      expect((await harness.backups.getBackup(created.id, 'b1'))!.status).toBe(
        'Succeeded',
      );
      return { harness, storeId: created.id, ns, db };
    }

    async function requestRestore(
      harness: Harness,
      storeId: string,
      id: string,
    ) {
      const restore = await harness.restores.requestRestore({
        id,
        storeId,
        backupId: 'b1',
        requestedBy: USER,
      });
      expect(restore).toMatchObject({ id, status: 'Running' });
    }

    async function restoreEvents(harness: Harness, storeId: string) {
      return (await harness.repository.listEvents(storeId, 100))
        .filter(e => e.type.startsWith('restore.'))
        .map(e => `${e.level} ${e.type}`)
        .reverse();
    }

    it('runs the restore Job with the backups volume read-only, then the gates, and ends Ready', async () => {
      const { harness, storeId, ns } = await storeWithBackup();
      await requestRestore(harness, storeId, 'r1');
      const restoring = await passes(harness, storeId, 1);
      expect(restoring).toMatchObject({ status: 'Restoring', step: 'restore' });
      const job = fake.get('Job', ns, restoreJobName('b1'))!;
      const pod = job.spec.template.spec;
      expect(job.metadata.labels).toMatchObject({
        'storeplane.io/role': 'restore',
        'storeplane.io/backup-id': 'b1',
        'storeplane.io/store-id': storeId,
      });
      expect(job.spec.backoffLimit).toBe(0);
      expect(pod.containers[0].command.slice(0, 2)).toEqual(['bash', '-c']);
      expect(pod.containers[0].command[2]).toContain(
        'gunzip -c "$BACKUP_FILE" | mariadb',
      );
      expect(pod.containers[0].command[3]).toBe('restore');
      expect(pod.containers[0].volumeMounts).toContainEqual({
        name: 'backups',
        mountPath: '/backups',
        readOnly: true,
      });
      expect(pod.volumes).toContainEqual({
        name: 'backups',
        persistentVolumeClaim: {
          claimName: 'storeplane-backups',
          readOnly: true,
        },
      });
      const env = Object.fromEntries(
        pod.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]),
      );
      expect(env.BACKUP_FILE).toBe('/backups/b1.sql.gz');
      expect(Object.keys(env)).toEqual([
        'BACKUP_FILE',
        'DB_HOST',
        'DB_PORT',
        'DB_NAME',
        'DB_USER',
        'MYSQL_PWD',
      ]);

      // Still running: the store stays Restoring.
      expect((await passes(harness, storeId, 2))!.status).toBe('Restoring');
      fake.completeJob(ns, restoreJobName('b1'), 'restored');
      const done = await harness.runUntil(
        storeId,
        s => s?.status === 'Ready',
        10,
        () => fake.progress(),
      );
      expect(done).toMatchObject({
        status: 'Ready',
        step: null,
        lastError: null,
      });
      expect((await harness.restores.getRestore('r1'))!.status).toBe(
        'Succeeded',
      );
      expect(await restoreEvents(harness, storeId)).toEqual([
        'info restore.requested',
        'info restore.started',
        'info restore.loaded',
        'info restore.succeeded',
      ]);
      expect(harness.changes).toContainEqual({ storeId, status: 'Ready' });
    });

    it('replaces a finished Job of an earlier restore of the same backup instead of taking its outcome', async () => {
      const { harness, storeId, ns } = await storeWithBackup();
      await requestRestore(harness, storeId, 'r1');
      await passes(harness, storeId, 1);
      fake.completeJob(ns, restoreJobName('b1'), 'restored');
      await harness.runUntil(
        storeId,
        s => s?.status === 'Ready',
        10,
        () => fake.progress(),
      );
      const firstUid = fake.get('Job', ns, restoreJobName('b1'))!.metadata.uid;

      await requestRestore(harness, storeId, 'r2');
      await passes(harness, storeId, 1);
      // The old Job is being deleted (foreground); the restore waits for it.
      expect(
        fake.get('Job', ns, restoreJobName('b1'))!.metadata.deletionTimestamp,
      ).toBeDefined();
      fake.finishForegroundDeletions();
      const running = await passes(harness, storeId, 1);
      expect(running).toMatchObject({ status: 'Restoring', step: 'restore' });
      const second = fake.get('Job', ns, restoreJobName('b1'))!;
      expect(second.metadata.uid).not.toBe(firstUid);
      expect(second.status?.conditions).toBeUndefined();
      expect((await harness.restores.getRestore('r2'))!.status).toBe('Running');
    });

    it('puts the store back to Ready with an error event when the restore Job fails', async () => {
      const { harness, storeId, ns } = await storeWithBackup();
      await requestRestore(harness, storeId, 'r1');
      await passes(harness, storeId, 1);
      fake.failJob(
        ns,
        restoreJobName('b1'),
        'ERROR 1064 (42000) at line 12: You have an error in your SQL syntax',
      );
      const after = await passes(harness, storeId, 1);
      expect(after).toMatchObject({ status: 'Ready', step: null });
      expect(after!.lastError).toContain('ERROR 1064');
      expect(await harness.restores.getRestore('r1')).toMatchObject({
        status: 'Failed',
        message: expect.stringContaining('ERROR 1064'),
      });
      const failed = (await harness.repository.listEvents(storeId, 100)).find(
        e => e.type === 'restore.failed',
      )!;
      expect(failed.level).toBe('error');
      expect(failed.message).toMatch(
        /The restore failed: its Job .* failed: ERROR 1064.*back to Ready, but its database may hold part of the backup: restore the same or another backup again/,
      );
      // Ready again: a new backup or restore is accepted.
      expect(
        await harness.restores.requestRestore({
          id: 'r2',
          storeId,
          backupId: 'b1',
          requestedBy: USER,
        }),
      ).toMatchObject({ status: 'Running' });
    });

    it('refuses, writing nothing, a restore the store or backup is not ready for', async () => {
      const { harness, storeId, db } = await storeWithBackup();
      const snapshot = async () => ({
        restores: await db('store_restores').where({ store_id: storeId }),
        store: await db('stores')
          .where({ id: storeId })
          .first('status', 'step', 'generation', 'next_attempt_at'),
      });
      const ask = (backupId: string, store = storeId) =>
        harness.restores.requestRestore({
          id: `x-${Math.random().toString(36).slice(2)}`,
          storeId: store,
          backupId,
          requestedBy: USER,
        });
      const before = await snapshot();
      expect(await ask('b1', 'nope')).toBe('storeNotFound');
      expect(await ask('nope')).toBe('backupNotFound');
      await harness.backups.requestBackup({
        id: 'b2',
        storeId,
        requestedBy: USER,
        file: '/backups/b2.sql.gz',
      });
      const withBackup = await snapshot();
      expect(await ask('b2')).toBe('backupNotSucceeded');
      expect(await ask('b1')).toBe('backupInProgress');
      expect(await snapshot()).toEqual(withBackup);
      expect(before.restores).toEqual([]);
    });
  },
);
