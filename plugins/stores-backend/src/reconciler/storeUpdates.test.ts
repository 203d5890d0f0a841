import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { setupServer } from 'msw/node';
import { FakeKubernetesApi } from '@internal/stores-test-utils';
import { storeTestDatabases } from '../__testUtils__/databases';
import { createHarness, Harness } from '../__testUtils__/harness';
import { updatePlans } from '../__testUtils__/updatePlans';

const databases = storeTestDatabases();
const server = setupServer();
registerMswTestHooks(server);

const OWNER = 'group:default/team-a';
const USER = 'user:default/ann';

const plans = updatePlans;

describe.each(databases.eachSupportedId())(
  'updates of a Ready store on %s',
  databaseId => {
    let fake: FakeKubernetesApi;
    let harness: Harness;

    beforeEach(async () => {
      fake = new FakeKubernetesApi();
      server.use(...fake.handlers());
      harness = await createHarness(await databases.init(databaseId), {
        configOverrides: { plans },
      });
    });

    async function readyStore() {
      const created = await harness.service.createStore(
        { name: 'shop', owner: OWNER, plan: 'small' },
        USER,
      );
      return harness.runUntil(
        created.id,
        s => s?.status === 'Ready',
        30,
        () => fake.progress(),
      );
    }

    async function eventsSince(id: string, type: string) {
      const events = (await harness.repository.listEvents(id, 100)).reverse();
      return events.slice(events.findIndex(e => e.type === type));
    }

    it('records the release that passed every gate', async () => {
      const store = await readyStore();
      expect(store).toMatchObject({
        chartVersion: '0.1.0',
        helmRevision: 1,
        appliedPlan: 'small',
        observedGeneration: 1,
      });
    });

    it('changes the plan with a Helm upgrade, the gates, and guardrails that follow the plan', async () => {
      const store = (await readyStore())!;
      const quota = () =>
        fake.get('ResourceQuota', store.namespace, 'storeplane-quota')!.spec
          .hard;
      const smallQuota = quota();

      await harness.service.updateStore(store, { plan: 'medium' }, USER);
      const updating = await harness.repository.getStore(store.id);
      expect(updating).toMatchObject({
        status: 'Updating',
        step: 'guardrails',
        plan: 'medium',
        appliedPlan: 'small',
        generation: 2,
      });

      const guardrailsApplied = await harness.runUntil(
        store.id,
        s => s?.step === 'helmInstall',
        5,
      );
      expect(guardrailsApplied!.status).toBe('Updating');
      // While both releases may run pods, the quota admits the larger plan (and a backup Job and the backup reader).
      expect(smallQuota['requests.cpu']).toBe('685m');
      expect(quota()['requests.cpu']).toBe('1060m');

      const done = await harness.runUntil(
        store.id,
        s => s?.status === 'Ready',
        30,
        () => fake.progress(),
      );
      expect(done).toMatchObject({
        status: 'Ready',
        plan: 'medium',
        appliedPlan: 'medium',
        helmRevision: 2,
        observedGeneration: 2,
        lastError: null,
        storefrontUrl: store.storefrontUrl,
      });
      expect(fake.get('Job', store.namespace, 'helm-install-2')).toBeDefined();
      expect(quota()['requests.cpu']).toBe('1060m');
      expect(
        (await eventsSince(store.id, 'plan.change.requested')).map(e => [
          e.type,
          e.level,
        ]),
      ).toEqual([
        ['plan.change.requested', 'info'],
        ['guardrails.applied', 'info'],
        ['secret.present', 'info'],
        ['helm.upgrade.succeeded', 'info'],
        ['workloads.available', 'info'],
        ['health.passed', 'info'],
        ['updated', 'info'],
      ]);
      expect(
        (await harness.repository.listEvents(store.id, 1))[0].message,
      ).toBe(
        'Update done: store is Ready on plan medium (Helm revision 2, chart 0.1.0)',
      );
    });

    it('rolls an upgrade whose health gate fails back to the old revision and ends Ready there with an error event', async () => {
      fake.chartVersion = '0.0.9';
      const store = (await readyStore())!;
      expect(store.chartVersion).toBe('0.0.9');
      fake.chartVersion = '0.1.0';
      fake.healthStatus = 500;

      await harness.service.upgradeStore(store, USER);
      const rolledBack = await harness.runUntil(
        store.id,
        s => s?.status === 'Ready',
        60,
        () => fake.progress(),
      );
      expect(rolledBack).toMatchObject({
        status: 'Ready',
        step: null,
        plan: 'small',
        chartVersion: '0.0.9',
        helmRevision: 3,
        observedGeneration: 2,
      });
      expect(rolledBack!.lastError).toBe(
        'The update failed and was rolled back to revision 1 (chart 0.0.9) on plan small: Gave up after 4 attempts: WordPress answered HTTP 500 on /wp-login.php; will retry',
      );
      const rollbackJob = fake.get('Job', store.namespace, 'helm-rollback-2')!;
      expect(rollbackJob.spec.template.spec.containers[0].args).toEqual([
        'rollback',
        'woocommerce',
        '1',
        '--namespace',
        store.namespace,
        '--wait',
        '--timeout',
        expect.any(String),
      ]);
      // One Helm Job at a time: the failed upgrade's Job went before the rollback's.
      expect(fake.maxHelmJobsAtOnce).toBe(1);
      expect(fake.releaseHistory(store.namespace)).toEqual([
        'v1:superseded',
        'v2:superseded',
        'v3:deployed',
      ]);
      const events = await eventsSince(store.id, 'upgrade.requested');
      expect(events.map(e => e.type)).toEqual(
        expect.arrayContaining([
          'upgrade.requested',
          'helm.upgrade.succeeded',
          'workloads.available',
          'retry.scheduled',
          'update.failed',
          'update.rolledBack',
        ]),
      );
      expect(events.find(e => e.type === 'update.failed')).toMatchObject({
        level: 'error',
        message: expect.stringMatching(
          /^The update did not pass step 'health': .*HTTP 500.*Rolling back to Helm revision 1$/,
        ),
      });
      expect(events.at(-1)).toMatchObject({
        type: 'update.rolledBack',
        level: 'error',
      });
    });

    it('returns a plan change that fails its gates to the old plan, its guardrails included', async () => {
      const store = (await readyStore())!;
      fake.healthStatus = 503;
      await harness.service.updateStore(store, { plan: 'medium' }, USER);
      const rolledBack = await harness.runUntil(
        store.id,
        s => s?.status === 'Ready',
        60,
        () => fake.progress(),
      );
      expect(rolledBack).toMatchObject({
        plan: 'small',
        appliedPlan: 'small',
        helmRevision: 3,
      });
      expect(rolledBack!.lastError).toMatch(
        /^The update failed and was rolled back to revision 1 \(chart 0\.1\.0\) on plan small: /,
      );
      expect(
        fake.get('ResourceQuota', store.namespace, 'storeplane-quota')!.spec
          .hard['requests.cpu'],
      ).toBe('685m');
    });

    it('refuses an upgrade to the chart version the store already runs (409), changing nothing', async () => {
      const store = (await readyStore())!;
      await expect(harness.service.upgradeStore(store, USER)).rejects.toThrow(
        /already runs chart version 0\.1\.0, the version this backend ships; there is nothing to upgrade/,
      );
      expect(await harness.repository.getStore(store.id)).toMatchObject({
        status: 'Ready',
        generation: store.generation,
      });
    });

    it.each([
      [
        'large',
        'ConflictError',
        /cannot move to plan large: plan large has 10Gi of storage and the store's volumes were made for 2Gi/,
      ],
      [
        'huge',
        'InputError',
        /Unknown plan 'huge'; choose one of: small, medium, large/,
      ],
    ])(
      'refuses plan %s with %s and changes nothing',
      async (plan, name, message) => {
        const store = (await readyStore())!;
        const error = await harness.service
          .updateStore(store, { plan }, USER)
          .catch(e => e);
        expect(error.name).toBe(name);
        expect(error.message).toMatch(message);
        expect(await harness.repository.getStore(store.id)).toMatchObject({
          status: 'Ready',
          plan: 'small',
          generation: store.generation,
        });
      },
    );

    it('refuses to update a store that is not Ready or Degraded (409)', async () => {
      const created = await harness.service.createStore(
        { name: 'shop', owner: OWNER, plan: 'small' },
        USER,
      );
      await expect(
        harness.service.updateStore(created, { plan: 'medium' }, USER),
      ).rejects.toThrow(
        /is Provisioning; only a Ready or Degraded store can be updated/,
      );
      await expect(harness.service.upgradeStore(created, USER)).rejects.toThrow(
        /is Provisioning; only a Ready or Degraded store can be updated/,
      );
    });
  },
);
