import {
  mockServices,
  registerMswTestHooks,
} from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { NO_CLUSTER_EVENT_TYPE } from '@storeplane/plugin-stores-common';
import { http } from 'msw';
import fs from 'node:fs';
import os from 'node:os';
import { setupServer } from 'msw/node';
import { parse } from 'yaml';
import { StoreRecord } from '../database/StoreRepository';
import { storeTestDatabases } from '../__testUtils__/databases';
import { FakeKubernetesApi, InjectedFault } from '@internal/stores-test-utils';
import {
  createHarness,
  fakeKubernetesClient,
  Harness,
  rewindStep,
} from '../__testUtils__/harness';
import { testConfigData } from '@internal/stores-test-utils';
import { readStoresConfig } from '../config/readStoresConfig';
import { CONFIGURE_CLUSTER_ADVICE } from '@storeplane/plugin-stores-node';
import { lazyKubernetesClient } from '../kubernetes/lazyKubernetesClient';
import { StoreLease } from './StoreLease';

const databases = storeTestDatabases();
const server = setupServer();
registerMswTestHooks(server);

const OWNER = 'group:default/team-a';
const USER = 'user:default/ann';

/** Plays the cluster's controllers: Jobs run and succeed, workloads become available, namespaces finalize. */
function clusterControllers(fake: FakeKubernetesApi) {
  return () => fake.progress();
}

async function eventTypes(harness: Harness, id: string) {
  return (await harness.repository.listEvents(id, 100))
    .map(e => e.type)
    .reverse();
}

/** Everything that could carry a password out of the system during these tests. */
const observedText: string[] = [];
const generatedPasswords: string[] = [];

function collectSecrets(fake: FakeKubernetesApi) {
  for (const secret of fake.list('Secret')) {
    for (const [key, value] of Object.entries(secret.stringData ?? {})) {
      if (key.includes('password')) generatedPasswords.push(value as string);
    }
  }
}

async function collectObserved(harness: Harness, storeId: string) {
  observedText.push(...harness.logs);
  observedText.push(
    ...(await harness.repository.listEvents(storeId, 500)).map(e => e.message),
  );
  const store = await harness.repository.getStore(storeId);
  if (store) observedText.push(JSON.stringify(store));
}

describe.each(databases.eachSupportedId())(
  'StoreReconciler on %s',
  databaseId => {
    let fake: FakeKubernetesApi;

    beforeEach(() => {
      fake = new FakeKubernetesApi();
      server.use(...fake.handlers());
    });

    async function setup(options?: Parameters<typeof createHarness>[1]) {
      const knex = await databases.init(databaseId);
      return createHarness(knex, options);
    }

    async function createStore(harness: Harness, name = 'shop') {
      return harness.service.createStore(
        { name, owner: OWNER, plan: 'small' },
        USER,
      );
    }

    it('provisions a store through every gate, in order, to Ready', async () => {
      const harness = await setup();
      const created = await createStore(harness);
      const ns = created.namespace;

      const ready = await harness.runUntil(
        created.id,
        s => s?.status === 'Ready',
        30,
        clusterControllers(fake),
      );
      expect(ready).toMatchObject({
        status: 'Ready',
        step: null,
        storefrontUrl: `http://${ns}.stores.example.com`,
        adminUrl: `http://${ns}.stores.example.com/wp-admin/`,
      });
      expect(await eventTypes(harness, created.id)).toEqual([
        'requested',
        'guardrails.applied',
        'secret.created',
        'helm.install.succeeded',
        'workloads.available',
        'health.passed',
        'ready',
      ]);
      const workloadsEvent = (
        await harness.repository.listEvents(created.id, 100)
      ).find(e => e.type === 'workloads.available');
      expect(workloadsEvent!.message).toBe(
        'Workloads available: Deployment/woocommerce-wordpress, StatefulSet/woocommerce-mariadb',
      );

      expect(
        fake.get('Namespace', undefined, ns)!.metadata.labels,
      ).toMatchObject({
        'app.kubernetes.io/managed-by': 'storeplane',
        'storeplane.io/store-id': created.id,
        'storeplane.io/owner': 'group.default.team-a',
      });
      // The Helm Job's pods show on the store entity's Kubernetes tab.
      const helmJob = fake.get('Job', ns, 'helm-install-1')!;
      expect(
        helmJob.spec.template.metadata.labels['backstage.io/kubernetes-id'],
      ).toBe(ns);
      expect(
        fake.get('ResourceQuota', ns, 'storeplane-quota')!.spec.hard,
      ).toMatchObject({
        'requests.cpu': '685m',
        'limits.cpu': '2350m',
        pods: '6',
        'requests.storage': '6Gi',
      });
      expect(fake.get('LimitRange', ns, 'storeplane-limits')).toBeDefined();
      expect(
        fake
          .list('NetworkPolicy', ns)
          .map(p => p.metadata.name)
          .sort(),
      ).toEqual([
        'storeplane-allow-backup-reader',
        'storeplane-allow-database',
        'storeplane-allow-egress',
        'storeplane-allow-helm-to-apiserver',
        'storeplane-allow-ingress-controller',
        'storeplane-default-deny',
      ]);
      // Sent with the API's own field names (client-node's models call these `_from` and
      // `_default`): without them the rules would admit every source and set no defaults.
      expect(
        fake.get('NetworkPolicy', ns, 'storeplane-allow-ingress-controller')!
          .spec.ingress,
      ).toEqual([
        {
          from: [
            {
              namespaceSelector: {
                matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' },
              },
            },
          ],
          ports: [{ protocol: 'TCP', port: 8080 }],
        },
      ]);
      expect(
        fake.get('NetworkPolicy', ns, 'storeplane-allow-database')!.spec
          .ingress[0].from,
      ).toEqual([{ podSelector: {} }]);
      expect(
        fake.get('LimitRange', ns, 'storeplane-limits')!.spec.limits[0].default,
      ).toEqual({ cpu: '500m', memory: '256Mi' });
      const egress = fake.get('NetworkPolicy', ns, 'storeplane-allow-egress')!
        .spec.egress;
      expect(egress[2]).toEqual({
        to: [
          {
            ipBlock: {
              cidr: '0.0.0.0/0',
              except: expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12']),
            },
          },
        ],
        ports: [{ protocol: 'TCP', port: 443 }],
      });
      expect(
        Object.keys(
          fake.get('Secret', ns, 'storeplane-credentials')!.stringData,
        ).sort(),
      ).toEqual([
        'admin-email',
        'admin-password',
        'admin-username',
        'database-password',
        'database-root-password',
      ]);
      const job = fake.get('Job', ns, 'helm-install-1')!;
      const container = job.spec.template.spec.containers[0];
      expect(container.args.slice(0, 4)).toEqual([
        'upgrade',
        '--install',
        'woocommerce',
        '/chart/chart.tgz',
      ]);
      expect(container.terminationMessagePolicy).toBe('FallbackToLogsOnError');
      expect(job.spec.template.spec.serviceAccountName).toBe('storeplane-helm');
      const values = parse(
        fake.get('ConfigMap', ns, 'storeplane-values')!.data['values.yaml'],
      );
      expect(values).toMatchObject({
        store: { id: created.id },
        existingSecret: 'storeplane-credentials',
        ingress: { host: `${ns}.stores.example.com` },
      });
      expect(
        fake.get('ConfigMap', ns, 'storeplane-chart')!.binaryData['chart.tgz']
          .length,
      ).toBeGreaterThan(1000);
      expect(
        fake.get('RoleBinding', ns, 'storeplane-store-installer')!.roleRef.name,
      ).toBe('storeplane-store-installer');
      expect(harness.metrics.provisioned).toHaveLength(1);
      expect(harness.changes.at(-1)).toEqual({
        storeId: created.id,
        status: 'Ready',
      });

      collectSecrets(fake);
      await collectObserved(harness, created.id);
    });

    it('runs one step and leaves the store due when others wait for a worker, else the next steps too', async () => {
      const harness = await setup();
      const claimAndReconcile = async (
        id: string,
        othersWaiting: () => Promise<boolean>,
      ) => {
        const store = await harness.repository.getStore(id);
        const lease = await StoreLease.claim({
          repository: harness.repository,
          logger: mockServices.logger.mock(),
          due: { id, generation: store!.generation },
          replicaId: 'test',
          leaseMs: 60_000,
        });
        await harness.reconciler.reconcile(lease!, othersWaiting);
        await lease!.release(60_000);
      };

      const yielding = await createStore(harness, 'yielding');
      await claimAndReconcile(yielding.id, async () => true);
      expect(await eventTypes(harness, yielding.id)).toEqual([
        'requested',
        'guardrails.applied',
      ]);
      const released = await harness.repository.getStore(yielding.id);
      expect(released).toMatchObject({ step: 'secret', leaseHolder: null });
      // Due again at once, behind the stores that fell due before it.
      expect(released!.nextAttemptAt).toBeLessThanOrEqual(
        await harness.repository.databaseNow(),
      );

      const running = await createStore(harness, 'running');
      await claimAndReconcile(running.id, async () => false);
      expect(await eventTypes(harness, running.id)).toEqual([
        'requested',
        'guardrails.applied',
        'secret.created',
      ]);
      expect(await harness.repository.getStore(running.id)).toMatchObject({
        step: 'helmInstall',
      });
    });

    it('re-applies guardrails idempotently (a second pass changes no resourceVersion)', async () => {
      const harness = await setup();
      const created = await createStore(harness);
      await harness.runUntil(created.id, s => s?.step === 'helmInstall');
      const versions = () =>
        fake
          .list('NetworkPolicy', created.namespace)
          .map(p => p.metadata.resourceVersion)
          .join();
      const before = versions();
      const quotaBefore = fake.get(
        'ResourceQuota',
        created.namespace,
        'storeplane-quota',
      )!.metadata.resourceVersion;
      // Put the store back one step, as a retry after a crash would.
      await rewindStep(harness, created.id, 'guardrails');
      await harness.runUntil(created.id, s => s?.step === 'helmInstall');
      expect(versions()).toBe(before);
      expect(
        fake.get('ResourceQuota', created.namespace, 'storeplane-quota')!
          .metadata.resourceVersion,
      ).toBe(quotaBefore);
    });

    // [name, fault, message part, whether the client already retries the call twice]
    const transientFaults: Array<[string, InjectedFault, string, boolean?]> = [
      [
        '409 Conflict',
        { status: 409, message: 'the object has been modified' },
        'Conflict writing to Kubernetes',
        false,
      ],
      [
        '429 Too Many Requests',
        { status: 429, message: 'slow down' },
        'rate limiting',
      ],
      [
        '500 Internal Error',
        { status: 500, message: 'etcdserver: request timed out' },
        'Kubernetes API error 500',
      ],
      [
        '503 Service Unavailable',
        { status: 503, message: 'apiserver is shutting down' },
        'Kubernetes API error 503',
      ],
      [
        'an ingress admission webhook refusing connections',
        {
          status: 500,
          message:
            'Internal error occurred: failed calling webhook "validate.nginx.ingress.kubernetes.io": dial tcp 10.96.0.12:443: connect: connection refused',
        },
        'admission webhook',
      ],
      ['a network error', 'network', 'will retry'],
    ];

    it.each(transientFaults)(
      'retries %s (a call up to three times at once), then the step with backoff, and then succeeds',
      async (_, fault, messagePart, callRetried = true) => {
        const harness = await setup();
        const created = await createStore(harness);
        // Enough failed tries of the call to fail the step twice.
        fake.injectFault(
          fault,
          callRetried ? 6 : 2,
          (method, path) =>
            method === 'PATCH' && path.includes('/resourcequotas/'),
        );
        const ready = await harness.runUntil(
          created.id,
          s => s?.status === 'Ready',
          30,
          clusterControllers(fake),
        );
        expect(ready!.status).toBe('Ready');
        const retries = (
          await harness.repository.listEvents(created.id, 100)
        ).filter(e => e.type === 'retry.scheduled');
        expect(retries).toHaveLength(2);
        expect(retries[0].message).toContain(messagePart);
        expect(retries[0].level).toBe('warning');
        expect(harness.metrics.retries).toEqual(['guardrails', 'guardrails']);
        await collectObserved(harness, created.id);
      },
    );

    it('times out a hung API call and retries', async () => {
      const harness = await setup({
        configOverrides: {
          kubernetes: { requestTimeout: { milliseconds: 50 } },
        },
      });
      const created = await createStore(harness);
      let hung = 0;
      server.use(
        http.patch(/secrets|namespaces\/[^/]+$/, async () => {
          hung++;
          if (hung <= 3) await new Promise(resolve => setTimeout(resolve, 500));
          return undefined as any;
        }),
      );
      await harness.runUntil(
        created.id,
        s => (s?.attempts ?? 0) > 0 || s?.step !== 'guardrails',
        5,
      );
      const events = await harness.repository.listEvents(created.id, 100);
      expect(
        events.some(
          e =>
            e.type === 'retry.scheduled' &&
            /did not answer within/.test(e.message),
        ),
      ).toBe(true);
    });

    it('marks the store Failed with the last error once the retry cap is reached', async () => {
      const harness = await setup();
      const created = await createStore(harness);
      fake.injectFault(
        { status: 503, message: 'apiserver overloaded' },
        100,
        method => method === 'PATCH',
      );
      const failed = await harness.runUntil(
        created.id,
        s => s?.status === 'Failed',
        20,
      );
      expect(failed!.lastError).toBe(
        'Gave up after 4 attempts: Kubernetes API error 503: apiserver overloaded',
      );
      expect(failed!.step).toBe('guardrails');
      const types = await eventTypes(harness, created.id);
      expect(types.filter(t => t === 'retry.scheduled')).toHaveLength(3);
      expect(types.at(-1)).toBe('failed');
    });

    it('fails at once on a permanent error (422 from validation) with the API message', async () => {
      const harness = await setup();
      const created = await createStore(harness);
      fake.injectFault(
        {
          status: 422,
          message:
            'LimitRange "storeplane-limits" is invalid: spec.limits[0].max: Invalid value',
        },
        1,
        (method, path) => method === 'PATCH' && path.includes('/limitranges/'),
      );
      const failed = await harness.runUntil(
        created.id,
        s => s?.status === 'Failed',
        10,
      );
      expect(failed!.attempts).toBe(1);
      expect(failed!.lastError).toMatch(
        /^Kubernetes rejected an object as invalid \(422\): LimitRange "storeplane-limits" is invalid/,
      );
    });

    it('reports a failed Helm Job with its output, then a retry succeeds with a new Job', async () => {
      const harness = await setup();
      const created = await createStore(harness);
      await harness.runUntil(
        created.id,
        s =>
          s?.step === 'helmInstall' &&
          fake.get('Job', created.namespace, 'helm-install-1') !== undefined,
      );
      fake.failJob(
        created.namespace,
        'helm-install-1',
        'Error: INSTALLATION FAILED: services "woocommerce-wordpress" is forbidden: exceeded quota',
      );
      const failed = await harness.runUntil(
        created.id,
        s => s?.status === 'Failed',
      );
      expect(failed!.lastError).toContain(
        'Helm install Job helm-install-1 failed: Job has reached the specified backoff limit',
      );
      expect(failed!.lastError).toContain(
        'Error: INSTALLATION FAILED: services "woocommerce-wordpress" is forbidden: exceeded quota',
      );

      await harness.service.retryStore(failed!, USER);
      const ready = await harness.runUntil(
        created.id,
        s => s?.status === 'Ready',
        30,
        clusterControllers(fake),
      );
      expect(ready!.status).toBe('Ready');
      expect(
        fake.get('Job', created.namespace, 'helm-install-2'),
      ).toBeDefined();
      expect(await eventTypes(harness, created.id)).toContain(
        'retry.requested',
      );
    });

    it('fails a step that waits longer than the step timeout', async () => {
      const harness = await setup({
        configOverrides: {
          reconciler: {
            maxAttempts: 4,
            stepTimeout: { seconds: 6 },
            initialBackoff: { milliseconds: 1 },
            maxBackoff: { milliseconds: 2 },
          },
        },
      });
      const created = await createStore(harness);
      const failed = await harness.runUntil(
        created.id,
        s => s?.status === 'Failed',
        10,
      );
      expect(failed!.step).toBe('helmInstall');
      expect(failed!.lastError).toBe(
        "Step 'helmInstall' did not finish within 6 s",
      );
    });

    const deleteFrom: Array<
      [string, (h: Harness, s: StoreRecord) => Promise<unknown>, string[]?]
    > = [
      [
        'Provisioning (mid-way, Helm Job running)',
        (h, s) =>
          h.runUntil(
            s.id,
            r =>
              r?.step === 'helmInstall' &&
              fake.list('Job', s.namespace).length > 0,
          ),
      ],
      [
        'Ready',
        (h, s) =>
          h.runUntil(
            s.id,
            r => r?.status === 'Ready',
            30,
            clusterControllers(fake),
          ),
      ],
      [
        'Failed',
        async (h, s) => {
          fake.injectFault(
            { status: 422, message: 'invalid' },
            1,
            m => m === 'PATCH',
          );
          return h.runUntil(s.id, r => r?.status === 'Failed');
        },
      ],
      // Nothing of it ever reached the cluster, so nothing is asked of the cluster.
      [
        'Provisioning before the reconciler ran',
        async () => undefined,
        ['delete.requested', 'deleted'],
      ],
    ];

    it.each(deleteFrom)(
      'deletes a store from %s: uninstall, namespace gone, row removed, events kept',
      async (_, reach, lastEvents = ['namespace.deleted', 'deleted']) => {
        const harness = await setup();
        const created = await createStore(harness);
        await reach(harness, created);
        const current = await harness.service.getStore(created.id);
        const deleting = await harness.service.deleteStore(current, USER);
        expect(deleting.status).toBe('Deleting');

        const gone = await harness.runUntil(
          created.id,
          s => s === undefined,
          30,
          clusterControllers(fake),
        );
        expect(gone).toBeUndefined();
        expect(
          fake.get('Namespace', undefined, created.namespace),
        ).toBeUndefined();
        const types = await eventTypes(harness, created.id);
        expect(types).toContain('delete.requested');
        expect(types.slice(-2)).toEqual(lastEvents);
        expect(harness.changes.at(-1)).toEqual({
          storeId: created.id,
          status: 'Deleted',
        });
      },
    );

    const withOwnServiceAccount = {
      kubernetes: {
        rbac: {
          serviceAccount: {
            namespace: 'storeplane-system',
            name: 'storeplane',
          },
        },
      },
    };

    /** The cluster's controllers, except that Jobs never finish. */
    const jobsHang = () => {
      fake.finishForegroundDeletions();
      fake.finalizeTerminatingNamespaces();
    };

    it('finishes a deletion whose Helm uninstall outlives the step timeout (skips helm, deletes the namespace)', async () => {
      const harness = await setup({
        configOverrides: {
          reconciler: {
            maxAttempts: 4,
            stepTimeout: { seconds: 12 },
            initialBackoff: { milliseconds: 1 },
            maxBackoff: { milliseconds: 2 },
          },
        },
      });
      const created = await createStore(harness);
      await harness.runUntil(
        created.id,
        s => s?.status === 'Ready',
        30,
        clusterControllers(fake),
      );
      await harness.service.deleteStore(
        (await harness.repository.getStore(created.id))!,
        USER,
      );
      const gone = await harness.runUntil(
        created.id,
        s => s === undefined,
        20,
        jobsHang,
      );
      expect(gone).toBeUndefined();
      const log = (
        await harness.repository.listEvents(created.id, 50)
      ).reverse();
      const skipped = log.find(e => e.type === 'helm.uninstall.skipped');
      expect(skipped).toMatchObject({
        level: 'warning',
        message:
          "Helm uninstall skipped: it did not finish within 12 s. Deleting the namespace removes the release's objects instead.",
      });
      expect(log.map(e => e.type).slice(-2)).toEqual([
        'namespace.deleted',
        'deleted',
      ]);
      expect(
        fake.get('Namespace', undefined, created.namespace),
      ).toBeUndefined();
    });

    it('re-binds its namespace rights when deleting a store whose RoleBinding was never created', async () => {
      fake.rbacRequiresManagerBinding = true;
      const harness = await setup({ configOverrides: withOwnServiceAccount });
      const created = await createStore(harness);
      // The first apply of the manager RoleBinding is refused: the store fails at guardrails
      // with a namespace where Storeplane has no rights.
      fake.injectFault(
        { status: 422, message: 'RoleBinding is invalid' },
        1,
        (method, path) => method === 'PATCH' && path.includes('/rolebindings/'),
      );
      const failed = await harness.runUntil(
        created.id,
        s => s?.status === 'Failed',
      );
      expect(failed!.step).toBe('guardrails');
      expect(fake.get('Namespace', undefined, created.namespace)).toBeDefined();

      await harness.service.deleteStore(failed!, USER);
      const gone = await harness.runUntil(
        created.id,
        s => s === undefined,
        20,
        clusterControllers(fake),
      );
      expect(gone).toBeUndefined();
      const types = await eventTypes(harness, created.id);
      // Nothing was installed (no Helm ServiceAccount), which it could only see with its rights back.
      expect(types).toContain('helm.uninstall.skipped');
      expect(
        fake.requests.filter(r =>
          r.startsWith(
            `GET /api/v1/namespaces/${created.namespace}/serviceaccounts/`,
          ),
        ),
      ).toHaveLength(1);
    });

    it('deletes the namespace directly when it can get no rights there (403 every try)', async () => {
      fake.rbacRequiresManagerBinding = true;
      const harness = await setup({ configOverrides: withOwnServiceAccount });
      const created = await createStore(harness);
      await harness.runUntil(
        created.id,
        s => s?.status === 'Ready',
        30,
        clusterControllers(fake),
      );
      // The binding is gone and cannot be made again (e.g. its ClusterRole was removed).
      fake.objects.delete(
        `RoleBinding/${created.namespace}/storeplane-store-manager`,
      );
      fake.injectFault(
        {
          status: 403,
          message:
            'rolebindings.rbac.authorization.k8s.io "storeplane-store-manager" is forbidden: user is attempting to grant RBAC permissions not currently held',
        },
        100,
        (method, path) => method === 'PATCH' && path.includes('/rolebindings/'),
      );
      await harness.service.deleteStore(
        (await harness.repository.getStore(created.id))!,
        USER,
      );
      const gone = await harness.runUntil(
        created.id,
        s => s === undefined,
        20,
        clusterControllers(fake),
      );
      expect(gone).toBeUndefined();
      const skipped = (
        await harness.repository.listEvents(created.id, 50)
      ).find(e => e.type === 'helm.uninstall.skipped');
      expect(skipped!.level).toBe('warning');
      expect(skipped!.message).toMatch(
        /^Helm uninstall skipped: Kubernetes refused the request \(403\): rolebindings.rbac.authorization.k8s.io "storeplane-store-manager" is forbidden/,
      );
    });

    it('keeps waiting for a namespace stuck Terminating and says what holds it', async () => {
      const harness = await setup({
        configOverrides: {
          reconciler: {
            maxAttempts: 4,
            stepTimeout: { seconds: 12 },
            initialBackoff: { milliseconds: 1 },
            maxBackoff: { milliseconds: 2 },
          },
        },
      });
      const created = await createStore(harness);
      await harness.runUntil(
        created.id,
        s => s?.status === 'Ready',
        30,
        clusterControllers(fake),
      );
      await harness.service.deleteStore(
        (await harness.repository.getStore(created.id))!,
        USER,
      );
      const holding =
        'Some content in the namespace has finalizers remaining: kubernetes.io/pvc-protection in 2 resource instances';
      const stuck = await harness.runUntil(
        created.id,
        s => Boolean(s?.lastError),
        40,
        () => {
          fake.finishForegroundDeletions();
          for (const job of fake.list('Job', created.namespace)) {
            if (!job.status?.conditions)
              fake.completeJob(created.namespace, job.metadata.name);
          }
          const ns = fake.get('Namespace', undefined, created.namespace)!;
          if (ns.status?.phase === 'Terminating') {
            ns.status.conditions = [
              {
                type: 'NamespaceFinalizersRemaining',
                status: 'True',
                message: holding,
              },
            ];
          }
        },
      );
      expect(stuck).toMatchObject({
        status: 'Deleting',
        step: 'namespaceDeletion',
      });
      expect(stuck!.lastError).toContain(
        `Namespace ${created.namespace} is still being deleted after more than 12 s: ${holding}. Deletion keeps waiting`,
      );
      expect(stuck!.lastError).toContain(holding);
      // It keeps looking (more passes change nothing but time) and says it once.
      for (let i = 0; i < 3; i++) {
        harness.clock.shiftMs += 60_000;
        await harness.loop.runOnce();
      }
      const warnings = (
        await harness.repository.listEvents(created.id, 100)
      ).filter(e => e.type === 'waiting');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({
        level: 'warning',
        message: stuck!.lastError,
      });
      fake.finalizeTerminatingNamespaces();
      expect(
        await harness.runUntil(created.id, s => s === undefined, 10),
      ).toBeUndefined();
    });

    it('finishes the work of a replica that crashed mid-way (new instance, same database)', async () => {
      const knex = await databases.init(databaseId);
      const first = await createHarness(knex, { replicaId: 'replica-1' });
      const created = await createStore(first);
      await first.runUntil(created.id, s => s?.step === 'helmInstall');
      // replica-1 claims the store when it is next due and dies without releasing it.
      first.clock.shiftMs += 5000;
      const store = await first.repository.getStore(created.id);
      expect(
        await first.repository.claimStore(
          { id: created.id, generation: store!.generation },
          'replica-1/dead',
          60_000,
        ),
      ).toBeDefined();

      const second = await createHarness(knex, {
        replicaId: 'replica-2',
        migrate: true,
        clock: first.clock,
      });
      expect(await second.loop.runOnce()).toBe(0);
      second.clock.shiftMs += 61_000;
      const ready = await second.runUntil(
        created.id,
        s => s?.status === 'Ready',
        30,
        clusterControllers(fake),
      );
      expect(ready!.status).toBe('Ready');
      // The Job the first replica created was reused, not duplicated.
      expect(
        fake.list('Job', created.namespace).map(j => j.metadata.name),
      ).toEqual(['helm-install-1']);
      expect(fake.releaseHistory(created.namespace)).toEqual(['v1:deployed']);
    });

    describe('without a cluster', () => {
      const saved = {
        KUBECONFIG: process.env.KUBECONFIG,
        HOME: process.env.HOME,
      };
      let emptyHome: string;
      const defaultApiServerHits: string[] = [];

      beforeEach(() => {
        // No kubeconfig anywhere on the machine, as on a fresh clone.
        emptyHome = fs.mkdtempSync(`${os.tmpdir()}/storeplane-home-`);
        process.env.HOME = emptyHome;
        delete process.env.KUBECONFIG;
        defaultApiServerHits.length = 0;
        server.use(
          http.all('http://localhost:8080/*', ({ request }) => {
            defaultApiServerHits.push(request.url);
            return new Response(null, { status: 500 });
          }),
        );
      });

      afterEach(() => {
        for (const [key, value] of Object.entries(saved)) {
          if (value === undefined) delete process.env[key];
          else process.env[key] = value;
        }
        fs.rmSync(emptyHome, { recursive: true, force: true });
      });

      /** The cluster client exactly as the plugin makes it, from default config. */
      const setupWithoutCluster = () =>
        setup({
          kubernetes: lazyKubernetesClient(
            readStoresConfig(new ConfigReader(testConfigData())).kubernetes,
          ),
        });

      it('keeps a store waiting with one event and no attempts used, then deletes it at once', async () => {
        const harness = await setupWithoutCluster();
        const created = await createStore(harness);
        await harness.runUntil(created.id, s => s?.lastError !== null, 3);
        for (let pass = 0; pass < 5; pass++) {
          harness.clock.shiftMs += 60_000;
          await harness.loop.runOnce();
        }
        const waiting = await harness.repository.getStore(created.id);
        expect(waiting).toMatchObject({
          status: 'Provisioning',
          step: 'guardrails',
          attempts: 0,
          reachedClusterAt: null,
        });
        const events = await harness.repository.listEvents(created.id, 100);
        expect(events.map(e => e.type).reverse()).toEqual([
          'requested',
          NO_CLUSTER_EVENT_TYPE,
        ]);
        expect(events[0]).toMatchObject({ level: 'warning' });
        expect(events[0].message).toBe(
          `No Kubernetes cluster is configured: there is no kubeconfig (storeplane.kubernetes.kubeconfigPath and KUBECONFIG are unset, and ${emptyHome}/.kube/config does not exist). The store waits, without using up attempts, until there is one. ${CONFIGURE_CLUSTER_ADVICE}.`,
        );
        expect(harness.metrics.retries).toEqual([]);

        await harness.service.deleteStore(waiting!, USER);
        const gone = await harness.runUntil(created.id, s => !s, 2);
        expect(gone).toBeUndefined();
        const after = await harness.repository.listEvents(created.id, 100);
        expect(after.slice(0, 2).map(e => e.type)).toEqual([
          'deleted',
          'delete.requested',
        ]);
        expect(after[0].message).toMatch(/never reached a Kubernetes cluster/);
        expect(harness.changes.at(-1)).toEqual({
          storeId: created.id,
          status: 'Deleted',
        });
        expect(defaultApiServerHits).toEqual([]);
      });

      it('does not count the wait against the step timeout once a cluster appears', async () => {
        let clusterConfigured = false;
        const harness = await setup({
          kubernetes: () => {
            if (!clusterConfigured) {
              return lazyKubernetesClient(harness.config.kubernetes)();
            }
            return fakeKubernetesClient();
          },
        });
        const created = await createStore(harness);
        await harness.runUntil(created.id, s => s?.lastError !== null, 3);
        harness.clock.shiftMs += harness.config.reconciler.stepTimeoutMs * 2;
        await harness.loop.runOnce();
        clusterConfigured = true;
        const ready = await harness.runUntil(
          created.id,
          s => s?.status === 'Ready' || s?.status === 'Failed',
          30,
          clusterControllers(fake),
        );
        expect(ready).toMatchObject({ status: 'Ready', attempts: 0 });
        expect(ready!.reachedClusterAt).not.toBeNull();
      });

      it('keeps deleting a store that reached a cluster until the cluster is back', async () => {
        let clusterConfigured = true;
        const harness = await setup({
          kubernetes: () =>
            clusterConfigured
              ? fakeKubernetesClient()
              : lazyKubernetesClient(harness.config.kubernetes)(),
        });
        const created = await createStore(harness);
        await harness.runUntil(
          created.id,
          s => s?.step === 'helmInstall',
          10,
          clusterControllers(fake),
        );
        clusterConfigured = false;
        await harness.service.deleteStore(
          (await harness.repository.getStore(created.id))!,
          USER,
        );
        const waiting = await harness.runUntil(
          created.id,
          s => s?.lastError !== null,
          3,
        );
        expect(waiting).toMatchObject({
          status: 'Deleting',
          step: 'helmUninstall',
        });
        expect(fake.list('Namespace').map(n => n.metadata.name)).toEqual([
          created.namespace,
        ]);

        clusterConfigured = true;
        const gone = await harness.runUntil(
          created.id,
          s => !s,
          30,
          clusterControllers(fake),
        );
        expect(gone).toBeUndefined();
        expect(fake.list('Namespace')).toEqual([]);
      });
    });

    it('never writes a generated password to events, logs or the store row', () => {
      expect(generatedPasswords.length).toBeGreaterThanOrEqual(3);
      for (const password of generatedPasswords) {
        expect(password.length).toBeGreaterThanOrEqual(24);
        for (const text of observedText) expect(text).not.toContain(password);
      }
    });
  },
);
