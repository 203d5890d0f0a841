import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { setupServer } from 'msw/node';
import { FakeKubernetesApi } from '@internal/stores-test-utils';
import { storeTestDatabases } from '../__testUtils__/databases';
import { createHarness, Harness } from '../__testUtils__/harness';
import { BACKUPS_PVC, backupJobName } from '../kubernetes/backupResources';

const databases = storeTestDatabases();
const server = setupServer();
registerMswTestHooks(server);

const USER = 'user:default/ann';

describe.each(databases.eachSupportedId())(
  'backups of a Ready store on %s',
  databaseId => {
    let fake: FakeKubernetesApi;

    beforeEach(() => {
      fake = new FakeKubernetesApi();
      server.use(...fake.handlers());
    });

    async function readyStore(configOverrides?: Record<string, unknown>) {
      const harness = await createHarness(await databases.init(databaseId), {
        configOverrides,
      });
      const created = await harness.service.createStore(
        { name: 'shop', owner: 'group:default/team-a', plan: 'small' },
        USER,
      );
      await harness.runUntil(
        created.id,
        s => s?.status === 'Ready',
        30,
        () => fake.progress(),
      );
      return { harness, storeId: created.id, ns: created.namespace };
    }

    async function requestBackup(
      harness: Harness,
      storeId: string,
      id: string,
    ) {
      const requested = await harness.backups.requestBackup({
        id,
        storeId,
        requestedBy: USER,
        file: `/backups/${id}.sql.gz`,
      });
      expect(requested).toMatchObject({ id, status: 'Pending' });
      await passes(harness, storeId, 1);
    }

    /** Runs `count` reconcile passes (5 s apart on the database clock). */
    async function passes(harness: Harness, storeId: string, count: number) {
      for (let i = 0; i < count; i++) {
        harness.clock.shiftMs += 5000;
        await harness.loop.runOnce();
      }
      return harness.repository.getStore(storeId);
    }

    const backupOf = (harness: Harness, storeId: string, id: string) =>
      harness.backups.getBackup(storeId, id);

    async function eventsOf(harness: Harness, storeId: string) {
      return (await harness.repository.listEvents(storeId, 100))
        .filter(e => e.type.startsWith('backup.'))
        .map(e => `${e.type}: ${e.message}`)
        .reverse();
    }

    it('creates the backups volume and one Job, then records the size the Job reported', async () => {
      const { harness, storeId, ns } = await readyStore();
      await requestBackup(harness, storeId, 'b1');
      expect(await backupOf(harness, storeId, 'b1')).toMatchObject({
        status: 'Running',
      });
      expect(fake.get('PersistentVolumeClaim', ns, BACKUPS_PVC)).toBeDefined();
      const job = fake.get('Job', ns, backupJobName('b1'))!;
      expect(job.spec.template.spec.containers[0].command.slice(3)).toEqual([
        'backup',
      ]);
      // While the Job runs the store is looked at again within seconds, not minutes.
      await passes(harness, storeId, 2);
      expect((await backupOf(harness, storeId, 'b1'))!.status).toBe('Running');

      fake.completeJob(ns, backupJobName('b1'), '48213\n');
      const after = await passes(harness, storeId, 1);
      // Done: the next look is the periodic check again.
      expect(
        after!.nextAttemptAt - (await harness.repository.databaseNow()),
      ).toBeGreaterThan(60_000);
      expect(await backupOf(harness, storeId, 'b1')).toMatchObject({
        status: 'Succeeded',
        sizeBytes: 48213,
      });
      expect(await eventsOf(harness, storeId)).toEqual([
        'backup.requested: Backup b1 requested',
        `backup.started: Backup b1 started (Job ${backupJobName('b1')})`,
        'backup.succeeded: Backup b1 succeeded (48213 bytes)',
      ]);
      expect((await harness.repository.getStore(storeId))!.status).toBe(
        'Ready',
      );
    });

    it('records a failed dump with its output, and a Job that reported no size as failed', async () => {
      const { harness, storeId, ns } = await readyStore();
      await requestBackup(harness, storeId, 'b1');
      fake.failJob(
        ns,
        backupJobName('b1'),
        "mariadb-dump: Got error: 1045: Access denied for user 'wordpress'",
      );
      await passes(harness, storeId, 1);
      expect(await backupOf(harness, storeId, 'b1')).toMatchObject({
        status: 'Failed',
        message: `its Job ${backupJobName(
          'b1',
        )} failed: mariadb-dump: Got error: 1045: Access denied for user 'wordpress'`,
      });

      await requestBackup(harness, storeId, 'b2');
      fake.completeJob(ns, backupJobName('b2'));
      await passes(harness, storeId, 1);
      expect((await backupOf(harness, storeId, 'b2'))!.message).toContain(
        "completed without reporting the dump's size",
      );
      const events = await eventsOf(harness, storeId);
      expect(events.filter(e => e.startsWith('backup.failed'))).toHaveLength(2);
      expect((await harness.repository.getStore(storeId))!.status).toBe(
        'Ready',
      );
    });

    it('fails a backup, saying why, when the cluster refuses it; the store stays Ready', async () => {
      const { harness, storeId, ns } = await readyStore();
      const createsPvc = (method: string, path: string) =>
        method === 'POST' && path.endsWith('/persistentvolumeclaims');
      fake.injectFault(
        { status: 403, message: 'persistentvolumeclaims is forbidden' },
        1,
        createsPvc,
      );
      await requestBackup(harness, storeId, 'b2');
      const refused = await backupOf(harness, storeId, 'b2');
      expect(refused).toMatchObject({ status: 'Failed' });
      expect(refused!.message).toMatch(/refused the request \(403\)/);
      expect(fake.get('Job', ns, backupJobName('b2'))).toBeUndefined();
      expect((await harness.repository.getStore(storeId))!.status).toBe(
        'Ready',
      );
    });

    it('keeps the retention count: the next Job removes older files, then their rows go', async () => {
      const { harness, storeId, ns } = await readyStore({
        backups: { retention: 2 },
      });
      for (const id of ['b1', 'b2', 'b3']) {
        await requestBackup(harness, storeId, id);
        const job = fake.get('Job', ns, backupJobName(id))!;
        const removes = job.spec.template.spec.containers[0].command.slice(4);
        expect(removes).toEqual(id === 'b3' ? ['/backups/b1.sql.gz'] : []);
        fake.completeJob(ns, backupJobName(id), '100');
        await passes(harness, storeId, 1);
        harness.clock.shiftMs += 1000;
      }
      expect(
        (await harness.backups.listBackups(storeId, 10)).map(b => b.id),
      ).toEqual(['b3', 'b2']);
      expect((await eventsOf(harness, storeId)).pop()).toBe(
        'backup.succeeded: Backup b3 succeeded (100 bytes); 1 older backup(s) removed (retention 2)',
      );
    });
  },
);
