import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { setupServer } from 'msw/node';
import { storeTestDatabases } from '../__testUtils__/databases';
import { FakeKubernetesApi } from '@internal/stores-test-utils';
import { createHarness, Harness } from '../__testUtils__/harness';

const databases = storeTestDatabases();
const server = setupServer();
registerMswTestHooks(server);

const OWNER = 'group:default/team-a';
const USER = 'user:default/ann';
const WEBHOOK_REFUSED =
  'Error: INSTALLATION FAILED: 1 error occurred:\n\t* Internal error occurred: failed calling webhook "validate.nginx.ingress.kubernetes.io": failed to call webhook: Post "https://ingress-nginx-controller-admission.ingress-nginx.svc:443/networking/v1/ingresses?timeout=10s": dial tcp 10.96.0.12:443: connect: connection refused';

describe.each(databases.eachSupportedId())(
  'Helm Jobs of the reconciler on %s',
  databaseId => {
    let fake: FakeKubernetesApi;

    beforeEach(() => {
      fake = new FakeKubernetesApi();
      server.use(...fake.handlers());
    });

    async function setup(configOverrides?: Record<string, unknown>) {
      const harness = await createHarness(await databases.init(databaseId), {
        configOverrides,
      });
      const store = await harness.service.createStore(
        { name: 'shop', owner: OWNER, plan: 'small' },
        USER,
      );
      return { harness, store };
    }

    const jobNamed = (h: Harness, id: string, name: string) => async () =>
      (await h.repository.getStore(id))?.step === 'helmInstall' &&
      fake.get('Job', `store-${id}`, name) !== undefined;

    async function untilJob(h: Harness, id: string, name: string) {
      const present = jobNamed(h, id, name);
      for (let i = 0; i < 20; i++) {
        if (await present()) return;
        h.clock.shiftMs += 5000;
        await h.loop.runOnce();
        fake.finishForegroundDeletions();
      }
      throw new Error(`Job ${name} never appeared`);
    }

    const events = async (h: Harness, id: string) =>
      (await h.repository.listEvents(id, 200)).reverse();

    it('reruns a Helm Job that failed transiently (webhook refused): deletes it first, backs off, installs revision 1', async () => {
      const { harness, store } = await setup();
      await untilJob(harness, store.id, 'helm-install-1');
      fake.failJob(store.namespace, 'helm-install-1', WEBHOOK_REFUSED, {
        release: 'failed',
      });

      const ready = await harness.runUntil(
        store.id,
        s => s?.status === 'Ready',
        30,
        () => fake.progress(),
      );
      expect(ready!.status).toBe('Ready');
      const log = await events(harness, store.id);
      const retry = log.find(e => e.type === 'retry.scheduled');
      expect(retry!.message).toMatch(
        /^Helm install Job helm-install-1 failed because an admission webhook in the cluster was not answering; it runs again after a backoff\. Job has reached the specified backoff limit\. Helm output \(last lines\):/,
      );
      expect(retry!.message).toContain('connect: connection refused');
      expect(retry!.message).toMatch(/\(attempt 1 of 4; next try in \d+ s\)$/);
      expect(log.map(e => e.type)).toContain('helm.failed.cleared');
      // The failed run was deleted (foreground) before the same Job ran again.
      const jobRequests = fake.requests.filter(r =>
        /\/jobs(\/helm-install-1)?$/.test(r),
      );
      const deleted = jobRequests.indexOf(
        `DELETE /apis/batch/v1/namespaces/${store.namespace}/jobs/helm-install-1`,
      );
      expect(deleted).toBeGreaterThan(0);
      expect(
        jobRequests.indexOf(
          `POST /apis/batch/v1/namespaces/${store.namespace}/jobs`,
          deleted,
        ),
      ).toBeGreaterThan(deleted);
      expect(fake.maxHelmJobsAtOnce).toBe(1);
      expect(fake.releaseHistory(store.namespace)).toEqual(['v1:deployed']);
      expect(harness.metrics.errors).toEqual(['helm_webhook']);
    });

    it.each([
      [
        'a template error',
        'Error: INSTALLATION FAILED: template: woocommerce-store/templates/deployment.yaml:12:20: executing "woocommerce-store/templates/deployment.yaml" at <.Values.nope.x>: nil pointer evaluating interface {}.x',
      ],
      [
        'an immutable field',
        'Error: UPGRADE FAILED: cannot patch "woocommerce-mariadb" with kind StatefulSet: StatefulSet.apps "woocommerce-mariadb" is invalid: spec: Forbidden: updates to statefulset spec for fields other than \'replicas\' are forbidden',
      ],
      [
        'values that fail the schema',
        "Error: INSTALLATION FAILED: values don't meet the specifications of the schema(s) in the following chart(s):\nwoocommerce-store:\n- wordpress.replicas: Invalid type. Expected: integer, given: string",
      ],
    ])(
      "fails at once on helm's own error (%s) and keeps the Job for inspection",
      async (_, output) => {
        const { harness, store } = await setup();
        await untilJob(harness, store.id, 'helm-install-1');
        fake.failJob(store.namespace, 'helm-install-1', output, {
          release: 'failed',
        });
        const failed = await harness.runUntil(
          store.id,
          s => s?.status === 'Failed',
          5,
        );
        expect(failed!.attempts).toBe(1);
        expect(failed!.lastError).toContain(
          'Helm install Job helm-install-1 failed: Job has reached the specified backoff limit',
        );
        expect(failed!.lastError).toContain(output.split('\n')[0]);
        expect(
          fake.get('Job', store.namespace, 'helm-install-1'),
        ).toBeDefined();
      },
    );

    it('gives up after the retry cap when helm keeps failing transiently', async () => {
      const { harness, store } = await setup();
      const jobBeingDeleted = () =>
        fake.get('Job', store.namespace, 'helm-install-1')?.metadata
          .deletionTimestamp !== undefined;
      const failEachRun = async (runs: number): Promise<void> => {
        if (runs === 0) return;
        await untilJob(harness, store.id, 'helm-install-1');
        fake.failJob(
          store.namespace,
          'helm-install-1',
          'Error: INSTALLATION FAILED: the server is currently unable to handle the request (post ingresses.networking.k8s.io)',
        );
        const after = await harness.runUntil(
          store.id,
          s => s?.status === 'Failed' || jobBeingDeleted(),
          5,
        );
        fake.finishForegroundDeletions();
        if (after?.status !== 'Failed') await failEachRun(runs - 1);
      };
      await failEachRun(4);
      const failed = await harness.repository.getStore(store.id);
      expect(failed!.status).toBe('Failed');
      expect(failed!.attempts).toBe(4);
      expect(failed!.lastError).toMatch(
        /^Gave up after 4 attempts: Helm install Job helm-install-1 failed because the Kubernetes API answered with a server error/,
      );
      expect(fake.maxHelmJobsAtOnce).toBe(1);
    });

    it('clears the lock of a Helm run that was stopped midway, then installs revision 1', async () => {
      const { harness, store } = await setup();
      await untilJob(harness, store.id, 'helm-install-1');
      // The helm pod was killed (no output, exit 137) while its release was pending-install.
      fake.failJob(store.namespace, 'helm-install-1', '', {
        release: 'pending-install',
        exitCode: 137,
      });
      const ready = await harness.runUntil(
        store.id,
        s => s?.status === 'Ready',
        30,
        () => fake.progress(),
      );
      expect(ready!.status).toBe('Ready');
      const log = await events(harness, store.id);
      expect(log.find(e => e.type === 'retry.scheduled')!.message).toMatch(
        /^Helm install Job helm-install-1 was interrupted before helm finished/,
      );
      expect(log.find(e => e.type === 'helm.lock.cleared')!.message).toBe(
        'Helm release woocommerce revision 1 was left pending-install by a Helm run that was stopped midway; removed that lock (no other Helm Job of this store is running)',
      );
      expect(fake.releaseHistory(store.namespace)).toEqual(['v1:deployed']);
    });

    it('after a step timeout and a user retry, deletes the old Job and waits for it to go before the new one', async () => {
      const { harness, store } = await setup({
        reconciler: {
          maxAttempts: 4,
          stepTimeout: { seconds: 12 },
          initialBackoff: { milliseconds: 1 },
          maxBackoff: { milliseconds: 2 },
        },
      });
      const failed = await harness.runUntil(
        store.id,
        s => s?.status === 'Failed',
        10,
      );
      expect(failed!.lastError).toBe(
        "Step 'helmInstall' did not finish within 12 s",
      );
      // helm-install-1 is still running when the user retries.
      expect(fake.get('Job', store.namespace, 'helm-install-1')).toBeDefined();
      await harness.service.retryStore(failed!, USER);

      await harness.loop.runOnce();
      const old = fake.get('Job', store.namespace, 'helm-install-1');
      expect(old!.metadata.deletionTimestamp).toBeDefined();
      expect(
        fake.get('Job', store.namespace, 'helm-install-2'),
      ).toBeUndefined();
      expect((await harness.repository.getStore(store.id))!.status).toBe(
        'Provisioning',
      );
      const ready = await harness.runUntil(
        store.id,
        s => s?.status === 'Ready',
        30,
        () => fake.progress(),
      );
      expect(ready!.status).toBe('Ready');
      expect(fake.maxHelmJobsAtOnce).toBe(1);
      expect(
        fake.list('Job', store.namespace).map(j => j.metadata.name),
      ).toEqual(['helm-install-2']);
    });

    it('uninstalls only after every install Job is gone', async () => {
      const { harness, store } = await setup();
      await untilJob(harness, store.id, 'helm-install-1');
      await harness.service.deleteStore(
        (await harness.repository.getStore(store.id))!,
        USER,
      );
      const gone = await harness.runUntil(
        store.id,
        s => s === undefined,
        30,
        () => fake.progress(),
      );
      expect(gone).toBeUndefined();
      expect(fake.maxHelmJobsAtOnce).toBe(1);
      const creates = fake.requests.filter(r =>
        r.startsWith(`POST /apis/batch/v1/namespaces/${store.namespace}/jobs`),
      );
      expect(creates).toHaveLength(2);
    });
  },
);
