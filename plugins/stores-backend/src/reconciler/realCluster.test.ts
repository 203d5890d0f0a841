/**
 * The reconciler against a real kube-apiserver, etcd, controller-manager and a kubelet stand-in
 * that really runs helm (packages/test-cluster, built from Go modules). Storeplane acts with the
 * ServiceAccount token and RBAC that charts/backstage-storeplane grants it. The HTTP health
 * gate uses mode url with a local stand-in here; healthCheckThroughApiServer.test.ts covers the
 * default mode, through the API server's service proxy.
 */
import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import {
  startTestCluster,
  TestCluster,
  testClusterAvailability,
} from '@internal/test-cluster';
import { ConfigReader } from '@backstage/config';
import {
  KubeConfig,
  KubernetesObject,
  KubernetesObjectApi,
} from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { readStoresConfig } from '../config/readStoresConfig';
import { OrphanSweep } from './OrphanSweep';
import { apiMessage, KubernetesClient } from '../kubernetes/KubernetesClient';
import { createHarness, Harness, rewindStep } from '../__testUtils__/harness';
import {
  auditedRequests,
  helmHistory,
  kubernetesClientFromFile,
  setSimHelmFaults,
  watchHelmActivity,
  readRbacRules,
  renderChart,
  renderStoreChart,
  REPO_ROOT,
  renderStoreplaneRbac,
  startHealthStandIn,
  STOREPLANE_NAMESPACE,
} from '../__testUtils__/realCluster';

const availability = testClusterAvailability();
if (!availability.available) {
  const message = `\n!!! SKIPPING the real-cluster lifecycle tests: ${availability.reason}\n`;
  if (process.env.STOREPLANE_REQUIRE_CLUSTER) throw new Error(message);
  // eslint-disable-next-line no-console
  console.warn(message);
}
const describeWithCluster = availability.available ? describe : describe.skip;

const OWNER = 'group:default/team-a';
const USER = 'user:default/ann';
const WEBHOOK_REFUSED =
  'Error: INSTALLATION FAILED: 1 error occurred:\n\t* Internal error occurred: failed calling webhook "validate.nginx.ingress.kubernetes.io": failed to call webhook: Post "https://ingress-nginx-controller-admission.ingress-nginx.svc:443/networking/v1/ingresses?timeout=10s": dial tcp 10.96.0.12:443: connect: connection refused';
const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
/** storeplane.monitor.interval of the lifecycle test. */
const MONITOR_SECONDS = 3;

describeWithCluster('stores on a real Kubernetes API server', () => {
  jest.setTimeout(15 * 60_000);

  let cluster: TestCluster;
  let admin: KubernetesClient;
  let rbac: ReturnType<typeof renderStoreplaneRbac>;
  let serviceAccountKubeconfig: string;
  let health: Awaited<ReturnType<typeof startHealthStandIn>>;
  const saUser = () =>
    `system:serviceaccount:${STOREPLANE_NAMESPACE}:${rbac.serviceAccount}`;

  beforeAll(async () => {
    cluster = await startTestCluster();
    admin = kubernetesClientFromFile(cluster.adminKubeconfigPath);
    await admin.apply({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: STOREPLANE_NAMESPACE },
    });
    rbac = renderStoreplaneRbac();
    for (const object of rbac.objects) await admin.apply(object);
    serviceAccountKubeconfig = await cluster.kubeconfigForServiceAccount(
      STOREPLANE_NAMESPACE,
      rbac.serviceAccount,
    );
    health = await startHealthStandIn();
  }, 30 * 60_000);

  afterAll(async () => {
    await health?.close();
    await cluster?.stop();
  });

  async function harness(
    configOverrides: Record<string, unknown> = {},
  ): Promise<Harness> {
    const knex = await databases.init('SQLITE_3');
    return createHarness(knex, {
      realTime: true,
      kubernetes: () =>
        kubernetesClientFromFile(serviceAccountKubeconfig, 5_000),
      configOverrides: {
        kubernetes: {
          requestTimeout: { seconds: 5 },
          rbac: {
            serviceAccount: {
              namespace: STOREPLANE_NAMESPACE,
              name: rbac.serviceAccount,
            },
            storeManagerClusterRole: rbac.storeManagerRole,
            storeInstallerClusterRole: rbac.storeInstallerRole,
          },
        },
        healthCheck: { mode: 'url', urlTemplate: `${health.url}/{namespace}` },
        reconciler: {
          maxAttempts: 10,
          initialBackoff: { milliseconds: 500 },
          maxBackoff: { seconds: 2 },
          stepTimeout: { minutes: 5 },
        },
        helm: { timeout: '3m' },
        ...configOverrides,
      },
    });
  }

  const events = async (h: Harness, id: string) =>
    (await h.repository.listEvents(id, 500)).reverse();

  async function waitForNamespaceGone(name: string) {
    for (let i = 0; i < 120; i++) {
      if (!(await admin.read('v1', 'Namespace', undefined, name))) return;
      await new Promise(resolve => setTimeout(resolve, 500));
    }
    throw new Error(`namespace ${name} was not deleted`);
  }

  async function resourceVersions(namespace: string) {
    const read = async (
      apiVersion: string,
      kind: string,
      name: string,
      ns: string | undefined = namespace,
    ) =>
      (await admin.read(apiVersion, kind, ns, name))?.metadata?.resourceVersion;
    return {
      namespace: await read('v1', 'Namespace', namespace, undefined),
      quota: await read('v1', 'ResourceQuota', 'storeplane-quota'),
      limits: await read('v1', 'LimitRange', 'storeplane-limits'),
      denyAll: await read(
        'networking.k8s.io/v1',
        'NetworkPolicy',
        'storeplane-default-deny',
      ),
      egress: await read(
        'networking.k8s.io/v1',
        'NetworkPolicy',
        'storeplane-allow-egress',
      ),
      ingressController: await read(
        'networking.k8s.io/v1',
        'NetworkPolicy',
        'storeplane-allow-ingress-controller',
      ),
      database: await read(
        'networking.k8s.io/v1',
        'NetworkPolicy',
        'storeplane-allow-database',
      ),
      helmToApiServer: await read(
        'networking.k8s.io/v1',
        'NetworkPolicy',
        'storeplane-allow-helm-to-apiserver',
      ),
      installerBinding: await read(
        'rbac.authorization.k8s.io/v1',
        'RoleBinding',
        'storeplane-store-installer',
      ),
      helmAccount: await read('v1', 'ServiceAccount', 'storeplane-helm'),
      managerBinding: await read(
        'rbac.authorization.k8s.io/v1',
        'RoleBinding',
        'storeplane-store-manager',
      ),
    };
  }

  it('provisions a store to Ready with helm really installing the chart, watches it after Ready, then deletes it completely', async () => {
    const h = await harness({
      monitor: { interval: { seconds: MONITOR_SECONDS } },
    });
    const started = Date.now();
    const created = await h.service.createStore(
      { name: 'real-shop', owner: OWNER, plan: 'small' },
      USER,
    );
    const ns = created.namespace;
    const ready = await h.runUntil(
      created.id,
      s => s?.status === 'Ready' || s?.status === 'Failed',
      180,
    );
    expect(ready).toMatchObject({ status: 'Ready', lastError: null });
    const readyAt = Date.now();

    expect((await events(h, created.id)).map(e => e.type)).toEqual([
      'requested',
      'guardrails.applied',
      'secret.created',
      'helm.install.succeeded',
      'workloads.available',
      'health.passed',
      'ready',
    ]);
    const workloadsEvent = (await events(h, created.id)).find(
      e => e.type === 'workloads.available',
    );
    expect(workloadsEvent!.message).toBe(
      'Workloads available: Deployment/woocommerce-wordpress, StatefulSet/woocommerce-mariadb',
    );
    // helm created the release's objects, under the installer role, inside the guardrails.
    const deployment = await admin.read<KubernetesObject>(
      'apps/v1',
      'Deployment',
      ns,
      'woocommerce-wordpress',
    );
    expect(deployment?.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe(
      'Helm',
    );
    expect(
      await admin.read('apps/v1', 'StatefulSet', ns, 'woocommerce-mariadb'),
    ).toBeDefined();
    expect(
      await admin.read(
        'networking.k8s.io/v1',
        'Ingress',
        ns,
        'woocommerce-wordpress',
      ),
    ).toBeDefined();
    expect(
      await admin.read('v1', 'Secret', ns, 'sh.helm.release.v1.woocommerce.v1'),
    ).toBeDefined();
    const quota = await admin.read<
      KubernetesObject & { status?: { used?: Record<string, string> } }
    >('v1', 'ResourceQuota', ns, 'storeplane-quota');
    expect(quota?.status?.used?.persistentvolumeclaims).toBe('2');
    expect(health.requests).toContain(`/${ns}/wp-login.php`);

    const credentials = await h.service.readCredentials(
      (await h.repository.getStore(created.id))!,
    );
    expect(credentials.adminUsername).toBe('admin');
    expect(credentials.adminPassword).toHaveLength(32);

    // Server-side apply is idempotent: running the guardrails step again changes nothing.
    const before = await resourceVersions(ns);
    await rewindStep(h, created.id, 'guardrails');
    await h.runUntil(created.id, s => s?.status === 'Ready', 60);
    expect(await resourceVersions(ns)).toEqual(before);

    // Watched after Ready, every monitor.interval. A check that finds nothing changed leaves
    // every resourceVersion as it was and writes no event.
    const checkOnce = async () => {
      const { nextAttemptAt } = (await h.repository.getStore(created.id))!;
      return (await h.runUntil(
        created.id,
        s => s!.nextAttemptAt > nextAttemptAt,
        MONITOR_SECONDS + 5,
      ))!;
    };
    await checkOnce();
    const versionsBeforeCheck = await resourceVersions(ns);
    const eventCount = (await events(h, created.id)).length;
    const checkStarted = Date.now();
    expect(await checkOnce()).toMatchObject({
      status: 'Ready',
      lastError: null,
    });
    // Discovery requests (no object) are left out: the shipped client keeps its discovery
    // cache for good, while this harness makes a client per claim.
    const callsPerCheck = auditedRequests(
      cluster.auditLogPath!,
      saUser(),
      checkStarted,
    ).filter(c => !c.resource.startsWith('/'));
    expect(await resourceVersions(ns)).toEqual(versionsBeforeCheck);
    expect(await events(h, created.id)).toHaveLength(eventCount);
    expect(callsPerCheck.filter(c => c.code >= 400)).toEqual([]);

    // A NetworkPolicy deleted by hand is back after the next check, with an event.
    await admin.delete(
      'networking.k8s.io/v1',
      'NetworkPolicy',
      ns,
      'storeplane-default-deny',
    );
    const policyDeletedAt = Date.now();
    expect(await checkOnce()).toMatchObject({ status: 'Ready' });
    const restoredAfterMs = Date.now() - policyDeletedAt;
    expect(
      await admin.read(
        'networking.k8s.io/v1',
        'NetworkPolicy',
        ns,
        'storeplane-default-deny',
      ),
    ).toBeDefined();
    expect((await events(h, created.id)).slice(eventCount)).toEqual([
      expect.objectContaining({
        type: 'guardrails.restored',
        level: 'warning',
        message:
          'Guardrails deleted or changed outside Storeplane were applied again: NetworkPolicy/storeplane-default-deny (deleted; created again)',
      }),
    ]);

    // WordPress crashes (the kubelet stand-in reports it, the Deployment controller counts it
    // unavailable): Degraded, saying what failed; Ready again once it runs.
    const [wordpressPod] = await admin.list<KubernetesObject>(
      'v1',
      'Pod',
      ns,
      'app.kubernetes.io/component=wordpress',
    );
    const setSimFail = (annotations: Record<string, string>) =>
      admin.apply({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: wordpressPod.metadata!.name,
          namespace: ns,
          annotations,
        },
      });
    await setSimFail({ 'storeplane.io/sim-fail': 'OOMKilled' });
    const degraded = await h.runUntil(
      created.id,
      s => s?.status === 'Degraded',
      MONITOR_SECONDS * 3 + 10,
    );
    expect(degraded!.lastError).toBe(
      'Workloads without all replicas available: Deployment/woocommerce-wordpress',
    );
    // The workloads panel shows what the kubelet reported.
    const failing = await h.service.readWorkloads(degraded!);
    expect(
      failing.pods.find(p => p.name === wordpressPod.metadata!.name),
    ).toMatchObject({
      phase: 'Running',
      ready: false,
      restarts: 1,
      waitingReason: 'CrashLoopBackOff',
      lastTermination: {
        container: 'wordpress',
        reason: 'OOMKilled',
        exitCode: 137,
      },
    });
    expect(failing.workloads).toEqual([
      expect.objectContaining({
        kind: 'Deployment',
        name: 'woocommerce-wordpress',
        desiredReplicas: 1,
        availableReplicas: 0,
      }),
      expect.objectContaining({
        kind: 'StatefulSet',
        name: 'woocommerce-mariadb',
        desiredReplicas: 1,
        readyReplicas: 1,
      }),
    ]);
    expect(failing.volumeClaims.map(c => [c.name, c.requested])).toEqual([
      ['data-woocommerce-mariadb-0', '2Gi'],
      ['woocommerce-wordpress', '2Gi'],
    ]);
    expect(failing.volumeClaims.every(c => c.usedBytes === null)).toBe(true);
    await setSimFail({});
    await h.runUntil(
      created.id,
      s => s?.status === 'Ready',
      MONITOR_SECONDS * 3 + 10,
    );
    expect(
      (await events(h, created.id))
        .slice(eventCount + 1)
        .map(e => [e.type, e.message]),
    ).toEqual([
      [
        'degraded',
        'Store is Degraded: Workloads without all replicas available: Deployment/woocommerce-wordpress',
      ],
      [
        'recovered',
        'Every check passes again: workloads available, health check passed, guardrails in place. Store is Ready',
      ],
    ]);

    const deleteStarted = Date.now();
    await h.service.deleteStore(
      (await h.repository.getStore(created.id))!,
      USER,
    );
    const gone = await h.runUntil(created.id, s => s === undefined, 180);
    expect(gone).toBeUndefined();
    expect(await admin.read('v1', 'Namespace', undefined, ns)).toBeUndefined();
    const deletionTypes = (await events(h, created.id)).map(e => e.type);
    expect(deletionTypes.slice(-4)).toEqual([
      'delete.requested',
      'helm.uninstall.succeeded',
      'namespace.deleted',
      'deleted',
    ]);

    const all = auditedRequests(cluster.auditLogPath!, saUser(), started);
    const byPhase = {
      provisioning:
        all.length -
        auditedRequests(cluster.auditLogPath!, saUser(), readyAt).length,
      deletion: auditedRequests(cluster.auditLogPath!, saUser(), deleteStarted)
        .length,
    };
    // eslint-disable-next-line no-console
    console.log(
      `API calls of one check of a Ready store: ${
        callsPerCheck.length
      } (${Object.entries(
        callsPerCheck.reduce<Record<string, number>>((byVerb, c) => {
          byVerb[c.verb] = (byVerb[c.verb] ?? 0) + 1;
          return byVerb;
        }, {}),
      )
        .map(([verb, n]) => `${verb} ${n}`)
        .join(
          ', ',
        )}); a NetworkPolicy deleted by hand was back ${restoredAfterMs} ms later (interval ${MONITOR_SECONDS} s)`,
    );
    // eslint-disable-next-line no-console
    console.log(
      `API calls by Storeplane's ServiceAccount for one store: ${
        byPhase.provisioning
      } to Ready, ${byPhase.deletion} to deleted (${
        all.length
      } in all, incl. the idempotency re-run); refused: ${
        all.filter(r => r.code >= 400 && r.code !== 404).length
      }`,
    );
    expect(all.filter(r => r.code === 403)).toEqual([]);
  });

  it('reaches Ready when the API server is stopped and restarted mid-provisioning', async () => {
    const h = await harness();
    const created = await h.service.createStore(
      { name: 'outage-shop', owner: OWNER, plan: 'small' },
      USER,
    );
    await h.runUntil(created.id, s => s?.step === 'helmInstall', 60);
    await cluster.stopApiServer();
    try {
      await h.runUntil(created.id, s => (s?.attempts ?? 0) >= 2, 30);
    } finally {
      await cluster.startApiServer();
    }
    const ready = await h.runUntil(
      created.id,
      s => s?.status === 'Ready' || s?.status === 'Failed',
      180,
    );
    expect(ready!.status).toBe('Ready');
    const retries = (await events(h, created.id)).filter(
      e => e.type === 'retry.scheduled',
    );
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(retries[0].message).toMatch(
      /The Kubernetes API cannot be reached \(ECONNREFUSED\)|did not answer within/,
    );
  });

  it("runs helm once and reports Failed with helm's own error", async () => {
    const h = await harness({
      helm: {
        timeout: '1m',
        chart: { source: 'reference', reference: '/charts/does-not-exist.tgz' },
      },
    });
    const created = await h.service.createStore(
      { name: 'broken-shop', owner: OWNER, plan: 'small' },
      USER,
    );
    const failed = await h.runUntil(
      created.id,
      s => s?.status === 'Failed' || s?.status === 'Ready',
      120,
    );
    expect(failed!.status).toBe('Failed');
    expect(failed!.attempts).toBe(1);
    expect(failed!.lastError).toMatch(
      /^Helm install Job helm-install-1 failed: Job has reached the specified backoff limit/,
    );
    expect(failed!.lastError).toMatch(/Error: .*does-not-exist\.tgz/);
    // backoffLimit 0: one pod, one helm run.
    const pods = await admin.list(
      'v1',
      'Pod',
      created.namespace,
      'job-name=helm-install-1',
    );
    expect(pods).toHaveLength(1);
  });

  it('reruns a Helm Job that an admission webhook refused, one Job at a time, one revision in the end', async () => {
    const h = await harness();
    const helmActivity = await watchHelmActivity(cluster.adminKubeconfigPath);
    await setSimHelmFaults(admin, [
      {
        namespacePrefix: 'store-flaky-',
        argsContain: 'upgrade',
        firstRuns: 2,
        message: WEBHOOK_REFUSED,
      },
    ]);
    try {
      const created = await h.service.createStore(
        { name: 'flaky', owner: OWNER, plan: 'small' },
        USER,
      );
      const ready = await h.runUntil(
        created.id,
        s => s?.status === 'Ready' || s?.status === 'Failed',
        180,
      );
      expect(ready).toMatchObject({ status: 'Ready', lastError: null });
      const retries = (await events(h, created.id)).filter(
        e => e.type === 'retry.scheduled',
      );
      expect(retries).toHaveLength(2);
      for (const retry of retries) {
        expect(retry.message).toMatch(
          /^Helm install Job helm-install-1 failed because an admission webhook in the cluster was not answering; it runs again after a backoff\./,
        );
        expect(retry.message).toContain('connect: connection refused');
      }
      expect(await helmHistory(admin, created.namespace)).toEqual([
        'v1:deployed',
      ]);
      expect(helmActivity.mostJobsAtOnce.get(created.namespace)).toBe(1);
      expect(helmActivity.failedHelmPods.get(created.namespace)?.size).toBe(2);
      expect(helmActivity.highestRevision.get(created.namespace)).toBe(1);
      expect(helmActivity.errors).toEqual([]);
    } finally {
      helmActivity.stop();
      await setSimHelmFaults(admin, []);
    }
  });

  it('clears the lock of a helm killed midway (pending-install) and installs revision 1', async () => {
    const h = await harness();
    await setSimHelmFaults(admin, [
      {
        namespacePrefix: 'store-locked-',
        argsContain: 'upgrade',
        firstRuns: 1,
        killWhenPending: true,
      },
    ]);
    try {
      const created = await h.service.createStore(
        { name: 'locked', owner: OWNER, plan: 'small' },
        USER,
      );
      const ready = await h.runUntil(
        created.id,
        s => s?.status === 'Ready' || s?.status === 'Failed',
        180,
      );
      expect(ready).toMatchObject({ status: 'Ready', lastError: null });
      const log = await events(h, created.id);
      expect(log.find(e => e.type === 'retry.scheduled')!.message).toMatch(
        /^Helm install Job helm-install-1 was interrupted before helm finished/,
      );
      expect(log.find(e => e.type === 'helm.lock.cleared')!.message).toBe(
        'Helm release woocommerce revision 1 was left pending-install by a Helm run that was stopped midway; removed that lock (no other Helm Job of this store is running)',
      );
      expect(await helmHistory(admin, created.namespace)).toEqual([
        'v1:deployed',
      ]);
    } finally {
      await setSimHelmFaults(admin, []);
    }
  });

  it('finishes a deletion whose helm uninstall hangs past the step timeout', async () => {
    const h = await harness({
      reconciler: {
        maxAttempts: 10,
        initialBackoff: { milliseconds: 500 },
        maxBackoff: { seconds: 2 },
        stepTimeout: { seconds: 20 },
      },
    });
    const created = await h.service.createStore(
      { name: 'stuck-del', owner: OWNER, plan: 'small' },
      USER,
    );
    expect(
      (await h.runUntil(created.id, s => s?.status === 'Ready', 180))!.status,
    ).toBe('Ready');
    await setSimHelmFaults(admin, [
      {
        namespacePrefix: created.namespace,
        argsContain: 'uninstall',
        delaySeconds: 3600,
      },
    ]);
    try {
      const started = Date.now();
      await h.service.deleteStore(
        (await h.repository.getStore(created.id))!,
        USER,
      );
      expect(
        await h.runUntil(created.id, s => s === undefined, 120),
      ).toBeUndefined();
      const took = (Date.now() - started) / 1000;
      const log = await events(h, created.id);
      expect(log.find(e => e.type === 'helm.uninstall.skipped')!.message).toBe(
        "Helm uninstall skipped: it did not finish within 20 s. Deleting the namespace removes the release's objects instead.",
      );
      expect(
        await admin.read('v1', 'Namespace', undefined, created.namespace),
      ).toBeUndefined();
      // eslint-disable-next-line no-console
      console.log(
        `stuck deletion: helm uninstall hung, step timeout 20 s, store gone after ${took.toFixed(
          1,
        )} s`,
      );
    } finally {
      await setSimHelmFaults(admin, []);
    }
  });

  it('re-binds its rights to delete a store whose RoleBinding is gone, and deletes the namespace directly when it can get none', async () => {
    const h = await harness();
    const [rebound, rightless] = await Promise.all(
      ['rebind', 'rightless'].map(name =>
        h.service.createStore({ name, owner: OWNER, plan: 'small' }, USER),
      ),
    );
    for (const store of [rebound, rightless]) {
      expect(
        (await h.runUntil(store.id, s => s?.status === 'Ready', 180))!.status,
      ).toBe('Ready');
      await admin.delete(
        'rbac.authorization.k8s.io/v1',
        'RoleBinding',
        store.namespace,
        'storeplane-store-manager',
      );
    }
    // With its RoleBinding gone, every call inside the namespace is refused (403)...
    const sa = kubernetesClientFromFile(serviceAccountKubeconfig);
    await expect(
      sa.list('batch/v1', 'Job', rebound.namespace),
    ).rejects.toMatchObject({ code: 403 });

    // ...deletion binds the role again and uninstalls the Helm way,
    await h.service.deleteStore(
      (await h.repository.getStore(rebound.id))!,
      USER,
    );
    expect(
      await h.runUntil(rebound.id, s => s === undefined, 120),
    ).toBeUndefined();
    expect((await events(h, rebound.id)).map(e => e.type)).toContain(
      'helm.uninstall.succeeded',
    );

    // ...and when binding gives no rights (the store-manager ClusterRole is missing), it
    // deletes the namespace without helm instead of retrying for ever.
    const role = rbac.objects.find(
      o =>
        o.kind === 'ClusterRole' && o.metadata!.name === rbac.storeManagerRole,
    )!;
    await admin.delete(
      'rbac.authorization.k8s.io/v1',
      'ClusterRole',
      undefined,
      rbac.storeManagerRole,
    );
    try {
      await h.service.deleteStore(
        (await h.repository.getStore(rightless.id))!,
        USER,
      );
      expect(
        await h.runUntil(rightless.id, s => s === undefined, 120),
      ).toBeUndefined();
    } finally {
      await admin.apply(role);
    }
    const skipped = (await events(h, rightless.id)).find(
      e => e.type === 'helm.uninstall.skipped',
    );
    expect(skipped!.message).toMatch(
      new RegExp(
        `^Helm uninstall skipped: Storeplane bound ClusterRole ${rbac.storeManagerRole} in ${rightless.namespace} but still has no rights there`,
      ),
    );
    expect(
      await admin.read('v1', 'Namespace', undefined, rightless.namespace),
    ).toBeUndefined();
  });

  it('gives up on a WordPress that answers one byte a second within the health check deadline, and is Ready once it answers', async () => {
    const h = await harness({
      healthCheck: {
        mode: 'url',
        urlTemplate: `${health.url}/{namespace}`,
        timeout: { seconds: 2 },
      },
    });
    const created = await h.service.createStore(
      { name: 'slow-wp', owner: OWNER, plan: 'small' },
      USER,
    );
    health.slow.add(created.namespace);
    const passes: number[] = [];
    const timedPass = async () => {
      const started = Date.now();
      await h.loop.runOnce();
      passes.push(Date.now() - started);
    };
    try {
      await h.runUntil(
        created.id,
        s => s?.step === 'health' && (s?.attempts ?? 0) >= 2,
        180,
      );
      // A pass that meets the slow WordPress ends at the deadline, not when the page does.
      for (let i = 0; i < 2; i++) {
        await new Promise(resolve => setTimeout(resolve, 2500));
        await timedPass();
      }
    } finally {
      health.slow.delete(created.namespace);
    }
    const retry = (await events(h, created.id)).find(
      e => e.type === 'retry.scheduled' && e.message.includes('WordPress'),
    );
    expect(retry!.message).toMatch(
      /^WordPress health check could not connect: 127\.0\.0\.1:\d+ did not answer within 2000 ms/,
    );
    expect(Math.max(...passes)).toBeLessThan(4000);
    expect(
      (await h.runUntil(created.id, s => s?.status === 'Ready', 60))!.status,
    ).toBe('Ready');
    // eslint-disable-next-line no-console
    console.log(
      `slow health: WordPress at 1 byte/s, deadline 2 s, longest reconcile pass ${Math.max(
        ...passes,
      )} ms; Ready once it answers`,
    );
  });

  it('sweeps orphans on the real API server: a labelled namespace without a store goes, a store whose namespace vanished is marked', async () => {
    const h = await harness();
    const created = await h.service.createStore(
      { name: 'vanish', owner: OWNER, plan: 'small' },
      USER,
    );
    expect(
      (await h.runUntil(created.id, s => s?.status === 'Ready', 180))!.status,
    ).toBe('Ready');
    await admin.apply({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: 'store-orphan-abcde',
        labels: {
          'app.kubernetes.io/managed-by': 'storeplane',
          'storeplane.io/store-id': 'orphan-abcde',
        },
      },
    });
    await admin.delete('v1', 'Namespace', undefined, created.namespace);
    await waitForNamespaceGone(created.namespace);

    const sweep = new OrphanSweep({
      repository: h.repository,
      kubernetes: () => kubernetesClientFromFile(serviceAccountKubeconfig),
      logger: mockServices.logger.mock(),
      gracePeriodMs: 0,
      onChange: () => {},
    });
    const result = await sweep.run();
    // The other tests' stores live in other databases, so their namespaces are orphans here too.
    expect(result.deleted).toContain('store-orphan-abcde');
    expect(result.repaired).toEqual([{ id: created.id, status: 'Failed' }]);
    await waitForNamespaceGone('store-orphan-abcde');
    expect((await h.repository.getStore(created.id))!.lastError).toMatch(
      /no longer exists: it was deleted outside Storeplane/,
    );
  });

  it('cannot grant itself more than it holds: binding a ClusterRole without `bind` on it is refused', async () => {
    const sa = kubernetesClientFromFile(serviceAccountKubeconfig);
    await admin.apply({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'store-escalation-test' },
    });
    const attempt = sa.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'grab-admin', namespace: 'store-escalation-test' },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'admin',
      },
      subjects: [
        {
          kind: 'ServiceAccount',
          namespace: STOREPLANE_NAMESPACE,
          name: rbac.serviceAccount,
        },
      ],
    } as KubernetesObject);
    await expect(attempt).rejects.toMatchObject({ code: 403 });
    await expect(attempt).rejects.toMatchObject({
      body: expect.stringContaining(
        'is attempting to grant RBAC permissions not currently held',
      ),
    });
  });

  it("may only touch namespaces named store-* (the chart's admission policy)", async () => {
    const sa = kubernetesClientFromFile(serviceAccountKubeconfig);
    const attempt = sa.apply({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'not-a-store' },
    });
    await expect(attempt).rejects.toMatchObject({ code: 422 });
    await expect(attempt).rejects.toMatchObject({
      body: expect.stringContaining(
        'Storeplane may only manage namespaces named store-',
      ),
    });
  });

  it('accepts both charts in a server-side dry run (every plan of app-config.yaml)', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.adminKubeconfigPath);
    const api = KubernetesObjectApi.makeApiClient(kc);
    const namespace = 'dryrun-charts';
    await admin.apply({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace },
    });
    const appConfig = parse(
      readFileSync(path.join(REPO_ROOT, 'app-config.yaml'), 'utf8'),
    );
    const config = readStoresConfig(new ConfigReader(appConfig));
    const objects = [
      ...renderChart('backstage-storeplane', {
        release: 'dryrun',
        namespace,
        valuesFiles: [
          path.join(
            REPO_ROOT,
            'charts/backstage-storeplane/ci/postgres-values.yaml',
          ),
        ],
        // Not the role names the suite already installed: a dry-run create of those is a 409.
        set: [
          'rbac.storeManagerRole=dryrun-store-manager',
          'rbac.storeInstallerRole=dryrun-store-installer',
        ],
      }),
      ...[...config.plans.keys()].flatMap(plan =>
        renderStoreChart(plan, config),
      ),
    ];
    const clusterScoped = new Set([
      'ClusterRole',
      'ClusterRoleBinding',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
    ]);
    const refused: string[] = [];
    for (const object of objects) {
      if (!clusterScoped.has(object.kind!))
        object.metadata!.namespace = namespace;
      try {
        await api.create(object, undefined, 'All');
      } catch (error) {
        refused.push(
          `${object.kind}/${object.metadata!.name}: ${
            apiMessage(error) ?? error
          }`,
        );
      }
    }
    expect(objects.length).toBeGreaterThan(30);
    expect(refused).toEqual([]);
  });

  describe('every granted permission is needed', () => {
    type Grant = {
      role: 'controller' | 'storeManager';
      apiGroup: string;
      resource: string;
      verb: string;
    };
    const rules = readRbacRules();
    const grants: Grant[] = (['controller', 'storeManager'] as const).flatMap(
      role =>
        (
          rules[role].rules as Array<{
            apiGroups: string[];
            resources: string[];
            verbs: string[];
          }>
        ).flatMap(rule =>
          rule.resources.flatMap(resource =>
            rule.verbs.map(verb => ({
              role,
              apiGroup: rule.apiGroups[0],
              resource,
              verb,
            })),
          ),
        ),
    );
    // services/proxy serves healthCheck.mode serviceProxy, which these tests do not use (see the file header).
    const exercised = grants.filter(g => g.resource !== 'services/proxy');
    const usedOnlyByDeletion = new Set(['namespaces:delete']);
    const usedOnlyByHelmUninstall = new Set([
      'jobs:delete',
      'serviceaccounts:get',
    ]);
    const usedOnlyToClearAnInterruptedHelm = new Set(['secrets:delete']);
    const usedOnlyByTheOrphanSweep = new Set(['namespaces:list']);
    const usedOnlyByTheWorkloadsRoute = new Set([
      'persistentvolumeclaims:list',
    ]);
    const usedOnlyByChecksOfReadyStores = new Set([
      'resourcequotas:get',
      'limitranges:get',
      'networkpolicies:get',
      'rolebindings:get',
    ]);
    const special = new Set([
      ...usedOnlyByTheWorkloadsRoute,
      ...usedOnlyByChecksOfReadyStores,
      ...usedOnlyByDeletion,
      ...usedOnlyByHelmUninstall,
      ...usedOnlyToClearAnInterruptedHelm,
      ...usedOnlyByTheOrphanSweep,
    ]);

    function roleWithout(grant: Grant): KubernetesObject {
      const name =
        grant.role === 'controller'
          ? rbac.controllerRole
          : rbac.storeManagerRole;
      const rendered = rbac.objects.find(
        o => o.kind === 'ClusterRole' && o.metadata!.name === name,
      ) as any;
      const reduced = rendered.rules
        .flatMap((rule: any) =>
          rule.resources.map((resource: string) => ({
            ...rule,
            resources: [resource],
            verbs:
              resource === grant.resource &&
              rule.apiGroups[0] === grant.apiGroup
                ? rule.verbs.filter((v: string) => v !== grant.verb)
                : rule.verbs,
          })),
        )
        .filter((rule: any) => rule.verbs.length > 0);
      return { ...rendered, rules: reduced };
    }

    async function withGrantRemoved<T>(
      grant: Grant,
      fn: () => Promise<T>,
    ): Promise<T> {
      const name =
        grant.role === 'controller'
          ? rbac.controllerRole
          : rbac.storeManagerRole;
      const original = rbac.objects.find(
        o => o.kind === 'ClusterRole' && o.metadata!.name === name,
      )!;
      await admin.apply(roleWithout(grant));
      await new Promise(resolve => setTimeout(resolve, 1000));
      try {
        return await fn();
      } finally {
        await admin.apply(original);
        await new Promise(resolve => setTimeout(resolve, 1000));
      }
    }

    const refused = /\(403\)|forbidden|has no rights there/i;

    const label = (g: Grant) =>
      [`${g.role}: ${g.verb} ${g.resource}`, g] as const;
    const key = (g: Grant) => `${g.resource}:${g.verb}`;

    it.each(exercised.filter(g => !special.has(key(g))).map(label))(
      'without %s provisioning is refused and the store says so in plain words',
      async (_, grant) => {
        const h = await harness();
        const failed = await withGrantRemoved(grant, async () => {
          const created = await h.service.createStore(
            { name: 'rbac', owner: OWNER, plan: 'small' },
            USER,
          );
          return h.runUntil(
            created.id,
            s => s?.status === 'Failed' || s?.status === 'Ready',
            120,
          );
        });
        expect(failed!.status).toBe('Failed');
        expect(failed!.lastError).toMatch(refused);
      },
    );

    it.each(exercised.filter(g => usedOnlyByDeletion.has(key(g))).map(label))(
      'without %s deletion is refused, says so, and finishes once the permission is back',
      async (_, grant) => {
        const h = await harness();
        const created = await h.service.createStore(
          { name: 'rbac-del', owner: OWNER, plan: 'small' },
          USER,
        );
        await h.runUntil(created.id, s => s?.status === 'Ready', 180);
        const stuck = await withGrantRemoved(grant, async () => {
          await h.service.deleteStore(
            (await h.repository.getStore(created.id))!,
            USER,
          );
          return h.runUntil(
            created.id,
            s => (s?.attempts ?? 0) >= 1 || s === undefined,
            120,
          );
        });
        expect(stuck?.status).toBe('Deleting');
        expect(stuck?.lastError).toMatch(refused);
        // Nothing is orphaned: with the permission back, deletion completes.
        expect(
          await h.runUntil(created.id, s => s === undefined, 180),
        ).toBeUndefined();
      },
    );

    it.each(
      exercised.filter(g => usedOnlyByHelmUninstall.has(key(g))).map(label),
    )(
      'without %s helm uninstall is refused: deletion says so and deletes the namespace anyway',
      async (_, grant) => {
        const h = await harness();
        const created = await h.service.createStore(
          { name: 'rbac-uninst', owner: OWNER, plan: 'small' },
          USER,
        );
        await h.runUntil(created.id, s => s?.status === 'Ready', 180);
        const gone = await withGrantRemoved(grant, async () => {
          await h.service.deleteStore(
            (await h.repository.getStore(created.id))!,
            USER,
          );
          return h.runUntil(created.id, s => s === undefined, 120);
        });
        expect(gone).toBeUndefined();
        const skipped = (await events(h, created.id)).find(
          e => e.type === 'helm.uninstall.skipped',
        );
        expect(skipped!.message).toMatch(refused);
      },
    );

    it.each(
      exercised
        .filter(g => usedOnlyToClearAnInterruptedHelm.has(key(g)))
        .map(label),
    )(
      'without %s the lock of a helm killed midway cannot be cleared, and the store says so',
      async (_, grant) => {
        const h = await harness();
        await setSimHelmFaults(admin, [
          {
            namespacePrefix: 'store-rbac-lock-',
            argsContain: 'upgrade',
            firstRuns: 1,
            killWhenPending: true,
          },
        ]);
        try {
          const failed = await withGrantRemoved(grant, async () => {
            const created = await h.service.createStore(
              { name: 'rbac-lock', owner: OWNER, plan: 'small' },
              USER,
            );
            return h.runUntil(
              created.id,
              s => s?.status === 'Failed' || s?.status === 'Ready',
              120,
            );
          });
          expect(failed!.status).toBe('Failed');
          expect(failed!.lastError).toMatch(refused);
        } finally {
          await setSimHelmFaults(admin, []);
        }
      },
    );

    describe('on one Ready store', () => {
      let h: Harness;
      let storeId: string;
      beforeAll(async () => {
        h = await harness({ monitor: { interval: { seconds: 2 } } });
        storeId = (
          await h.service.createStore(
            { name: 'rbac-check', owner: OWNER, plan: 'small' },
            USER,
          )
        ).id;
        await h.runUntil(storeId, s => s?.status === 'Ready', 180);
      });

      it.each(
        exercised
          .filter(g => usedOnlyByChecksOfReadyStores.has(key(g)))
          .map(label),
      )(
        'without %s the check of a Ready store is refused: Degraded, saying so, and Ready once it is back',
        async (_, grant) => {
          const degraded = await withGrantRemoved(grant, () =>
            h.runUntil(storeId, s => s?.status === 'Degraded', 20),
          );
          expect(degraded!.lastError).toMatch(refused);
          expect(
            await h.runUntil(storeId, s => s?.status === 'Ready', 20),
          ).toMatchObject({ lastError: null });
        },
      );

      it.each(
        exercised
          .filter(g => usedOnlyByTheWorkloadsRoute.has(key(g)))
          .map(label),
      )(
        'without %s the workloads of a store cannot be read, and the answer says so',
        async (_, grant) => {
          const store = (await h.repository.getStore(storeId))!;
          await withGrantRemoved(grant, async () => {
            await expect(h.service.readWorkloads(store)).rejects.toThrow(
              refused,
            );
          });
          expect((await h.service.readWorkloads(store)).workloads).toHaveLength(
            2,
          );
        },
      );
    });

    it.each(
      exercised.filter(g => usedOnlyByTheOrphanSweep.has(key(g))).map(label),
    )('without %s the orphan sweep is refused', async (_, grant) => {
      const h = await harness();
      const sweep = new OrphanSweep({
        repository: h.repository,
        kubernetes: () => kubernetesClientFromFile(serviceAccountKubeconfig),
        logger: mockServices.logger.mock(),
        gracePeriodMs: 0,
        onChange: () => {},
      });
      await withGrantRemoved(grant, async () => {
        await expect(sweep.run()).rejects.toMatchObject({ code: 403 });
      });
      await expect(sweep.run()).resolves.toBeDefined();
    });
  });
});
