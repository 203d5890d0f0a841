/**
 * The reconciler against a real kube-apiserver, etcd, controller-manager and a kubelet stand-in
 * that really runs helm (packages/test-cluster, built from Go modules). Storeplane acts with the
 * ServiceAccount token and RBAC that charts/storeplane-rbac grants it. The HTTP health
 * gate uses mode url with a local stand-in here; healthCheckThroughApiServer.test.ts covers the
 * default mode, through the API server's service proxy. Deletion under faults is in
 * realClusterDeletion.test.ts, least privilege in realClusterLeastPrivilege.test.ts: each file
 * runs its own control plane, so Jest runs them side by side.
 */
import { ConfigReader } from '@backstage/config';
import {
  KubeConfig,
  KubernetesObject,
  KubernetesObjectApi,
  V1Pod,
} from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';
import { readStoresConfig } from '../config/readStoresConfig';
import { apiMessage } from '../kubernetes/KubernetesClient';
import { Harness, rewindStep } from '../__testUtils__/harness';
import {
  auditedRequests,
  helmHistory,
  setSimHelmFaults,
  watchHelmActivity,
  renderChart,
  renderStoreChart,
  REPO_ROOT,
  STOREPLANE_NAMESPACE,
} from '../__testUtils__/realCluster';
import {
  describeWithRealCluster,
  OWNER,
  RealClusterSuite,
  USER,
} from '../__testUtils__/realClusterSuite';
import {
  OUTSIDER_AUTHORIZATION,
  startRealClusterBackend,
  USER_AUTHORIZATION,
} from '../__testUtils__/realClusterBackend';
import { BACKUP_READER_POD } from '../kubernetes/backupReader';
import { medusaEngineModule } from '../__testUtils__/medusaEngine/medusaEngine';
import { waitFor } from '@internal/stores-test-utils';
import request from 'supertest';

const WEBHOOK_REFUSED =
  'Error: INSTALLATION FAILED: 1 error occurred:\n\t* Internal error occurred: failed calling webhook "validate.nginx.ingress.kubernetes.io": failed to call webhook: Post "https://ingress-nginx-controller-admission.ingress-nginx.svc:443/networking/v1/ingresses?timeout=10s": dial tcp 10.96.0.12:443: connect: connection refused';

/** storeplane.monitor.interval of the lifecycle test. */
const MONITOR_SECONDS = 3;
const PRICES = {
  currency: 'EUR',
  cpuCoreMonth: 20,
  memoryGiBMonth: 3,
  storageGiBMonth: 0.1,
};
const GIB = 1024 ** 3;

describeWithRealCluster('stores on a real Kubernetes API server', () => {
  jest.setTimeout(15 * 60_000);
  const suite = RealClusterSuite.use();

  /**
   * GET /stores/:id/usage reports the quota's hard (the plan's) and what the quota controller of
   * kube-controller-manager counts in use; the estimates price exactly those. Compared with one
   * unchanged quota read before and after, as the controller may count again in between.
   */
  async function expectUsageAsTheQuotaControllerReports(
    h: Harness,
    id: string,
    ns: string,
  ) {
    type Quota = KubernetesObject & {
      status?: {
        hard?: Record<string, string>;
        used?: Record<string, string>;
      };
    };
    const readQuota = () =>
      suite.admin.read<Quota>('v1', 'ResourceQuota', ns, 'storeplane-quota');
    const { quota, usage } = await waitFor(
      'a quota read that did not change while the usage was read',
      async () => {
        const before = await readQuota();
        const read = await h.service.readUsage(
          (await h.repository.getStore(id))!,
        );
        const after = await readQuota();
        return before?.metadata?.resourceVersion ===
          after?.metadata?.resourceVersion
          ? { quota: after!, usage: read }
          : undefined;
      },
      10_000,
    );
    const { hard, used } = quota.status!;
    expect(usage.note).toBeNull();
    expect(usage.resources.map(r => [r.quotaKey, r.hard, r.used])).toEqual(
      ['requests.cpu', 'requests.memory', 'requests.storage', 'pods'].map(
        key => [key, hard![key], used![key]],
      ),
    );
    const amount = (resource: string, of: 'hardAmount' | 'usedAmount') =>
      usage.resources.find(r => r.resource === resource)![of]!;
    // The release's pods run, and its two volume claims request storage.
    expect(amount('pods', 'usedAmount')).toBeGreaterThan(0);
    expect(amount('storage', 'usedAmount')).toBeGreaterThan(0);
    const priced = (of: 'hardAmount' | 'usedAmount') =>
      Math.round(
        (amount('cpu', of) * PRICES.cpuCoreMonth +
          (amount('memory', of) / GIB) * PRICES.memoryGiBMonth +
          (amount('storage', of) / GIB) * PRICES.storageGiBMonth) *
          100,
      ) / 100;
    expect(usage.cost).toEqual({
      currency: 'EUR',
      planMonthly: priced('hardAmount'),
      actualMonthly: priced('usedAmount'),
    });
    expect(usage.cost!.actualMonthly).toBeLessThanOrEqual(
      usage.cost!.planMonthly!,
    );
  }

  async function resourceVersions(namespace: string) {
    const read = async (
      apiVersion: string,
      kind: string,
      name: string,
      ns: string | undefined = namespace,
    ) =>
      (await suite.admin.read(apiVersion, kind, ns, name))?.metadata
        ?.resourceVersion;
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
    const h = await suite.harness({
      monitor: { interval: { seconds: MONITOR_SECONDS } },
      cost: PRICES,
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

    expect((await suite.events(h, created.id)).map(e => e.type)).toEqual([
      'requested',
      'guardrails.applied',
      'secret.created',
      'helm.install.succeeded',
      'workloads.available',
      'health.passed',
      'ready',
    ]);
    const workloadsEvent = (await suite.events(h, created.id)).find(
      e => e.type === 'workloads.available',
    );
    expect(workloadsEvent!.message).toBe(
      'Workloads available: Deployment/woocommerce-wordpress, StatefulSet/woocommerce-mariadb',
    );
    // helm created the release's objects, under the installer role, inside the guardrails.
    const deployment = await suite.admin.read<KubernetesObject>(
      'apps/v1',
      'Deployment',
      ns,
      'woocommerce-wordpress',
    );
    expect(deployment?.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe(
      'Helm',
    );
    expect(
      await suite.admin.read(
        'apps/v1',
        'StatefulSet',
        ns,
        'woocommerce-mariadb',
      ),
    ).toBeDefined();
    expect(
      await suite.admin.read(
        'networking.k8s.io/v1',
        'Ingress',
        ns,
        'woocommerce-wordpress',
      ),
    ).toBeDefined();
    expect(
      await suite.admin.read(
        'v1',
        'Secret',
        ns,
        'sh.helm.release.v1.woocommerce.v1',
      ),
    ).toBeDefined();
    const quota = await suite.admin.read<
      KubernetesObject & { status?: { used?: Record<string, string> } }
    >('v1', 'ResourceQuota', ns, 'storeplane-quota');
    expect(quota?.status?.used?.persistentvolumeclaims).toBe('2');
    await expectUsageAsTheQuotaControllerReports(h, created.id, ns);
    expect(suite.health.requests).toContain(`/${ns}/wp-login.php`);

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
    const eventCount = (await suite.events(h, created.id)).length;
    const checkStarted = Date.now();
    expect(await checkOnce()).toMatchObject({
      status: 'Ready',
      lastError: null,
    });
    // Discovery requests (no object) are left out: the shipped client keeps its discovery
    // cache for good, while this harness makes a client per claim.
    const callsPerCheck = auditedRequests(
      suite.cluster.auditLogPath!,
      suite.serviceAccountUser(),
      checkStarted,
    ).filter(c => !c.resource.startsWith('/'));
    expect(await resourceVersions(ns)).toEqual(versionsBeforeCheck);
    expect(await suite.events(h, created.id)).toHaveLength(eventCount);
    expect(callsPerCheck.filter(c => c.code >= 400)).toEqual([]);

    // A NetworkPolicy deleted by hand is back after the next check, with an event.
    await suite.admin.delete(
      'networking.k8s.io/v1',
      'NetworkPolicy',
      ns,
      'storeplane-default-deny',
    );
    const policyDeletedAt = Date.now();
    expect(await checkOnce()).toMatchObject({ status: 'Ready' });
    const restoredAfterMs = Date.now() - policyDeletedAt;
    expect(
      await suite.admin.read(
        'networking.k8s.io/v1',
        'NetworkPolicy',
        ns,
        'storeplane-default-deny',
      ),
    ).toBeDefined();
    expect((await suite.events(h, created.id)).slice(eventCount)).toEqual([
      expect.objectContaining({
        type: 'guardrails.restored',
        level: 'warning',
        message:
          'Guardrails deleted or changed outside Storeplane were applied again: NetworkPolicy/storeplane-default-deny (deleted; created again)',
      }),
    ]);

    // WordPress crashes (the kubelet stand-in reports it, the Deployment controller counts it
    // unavailable): Degraded, saying what failed; Ready again once it runs.
    const [wordpressPod] = await suite.admin.list<KubernetesObject>(
      'v1',
      'Pod',
      ns,
      'app.kubernetes.io/component=wordpress',
    );
    const setSimFail = (annotations: Record<string, string>) =>
      suite.admin.apply({
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
      (await suite.events(h, created.id))
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
    expect(
      await suite.admin.read('v1', 'Namespace', undefined, ns),
    ).toBeUndefined();
    const deletionTypes = (await suite.events(h, created.id)).map(e => e.type);
    expect(deletionTypes.slice(-4)).toEqual([
      'delete.requested',
      'helm.uninstall.succeeded',
      'namespace.deleted',
      'deleted',
    ]);

    const all = auditedRequests(
      suite.cluster.auditLogPath!,
      suite.serviceAccountUser(),
      started,
    );
    const byPhase = {
      provisioning:
        all.length -
        auditedRequests(
          suite.cluster.auditLogPath!,
          suite.serviceAccountUser(),
          readyAt,
        ).length,
      deletion: auditedRequests(
        suite.cluster.auditLogPath!,
        suite.serviceAccountUser(),
        deleteStarted,
      ).length,
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

  it('reaches Ready when the API server is stopped and restarted while helm runs', async () => {
    // Helm, the Job controller and the sim (the kubelet here) all lose the API server. Helm
    // fails or waits; the sim records the pod's end once the API server is back, as a kubelet
    // does. Before the sim kept trying, an end it could not record left the pod Running until
    // the Job's deadline (6.5 minutes). What is tested is that the faults are retried, not how
    // fast: the step timeout and attempts span a helm timeout and a rerun on a loaded machine.
    const h = await suite.harness({
      helm: { timeout: '90s' },
      reconciler: {
        maxAttempts: 60,
        initialBackoff: { milliseconds: 500 },
        maxBackoff: { seconds: 2 },
        stepTimeout: { minutes: 10 },
      },
    });
    const created = await h.service.createStore(
      { name: 'outage-shop', owner: OWNER, plan: 'small' },
      USER,
    );
    await waitFor('the sim to run helm', async () => {
      await h.loop.runOnce();
      const pods = await suite.admin.list<V1Pod>(
        'v1',
        'Pod',
        created.namespace,
        'job-name=helm-install-1',
      );
      return pods.some(pod => pod.status?.phase === 'Running')
        ? true
        : undefined;
    });
    await suite.cluster.stopApiServer();
    try {
      await h.runUntil(created.id, s => (s?.attempts ?? 0) >= 2, 30);
    } finally {
      await suite.cluster.startApiServer();
    }
    // Room for helm's 90 s and a rerun, not for the Job's deadline: a pod left Running fails.
    const ready = await h.runUntil(
      created.id,
      s => s?.status === 'Ready' || s?.status === 'Failed',
      240,
    );
    // With the last error, so that a failure says why.
    expect({ status: ready!.status, lastError: ready!.lastError }).toEqual({
      status: 'Ready',
      lastError: null,
    });
    const retries = (await suite.events(h, created.id)).filter(
      e => e.type === 'retry.scheduled',
    );
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(retries[0].message).toMatch(
      /The Kubernetes API cannot be reached \(ECONNREFUSED\)|did not answer within/,
    );
  });

  it("runs helm once and reports Failed with helm's own error", async () => {
    const h = await suite.harness({
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
    const pods = await suite.admin.list(
      'v1',
      'Pod',
      created.namespace,
      'job-name=helm-install-1',
    );
    expect(pods).toHaveLength(1);
  });

  it('reruns a Helm Job that an admission webhook refused, one Job at a time, one revision in the end', async () => {
    const h = await suite.harness();
    const helmActivity = await watchHelmActivity(
      suite.cluster.adminKubeconfigPath,
    );
    await setSimHelmFaults(suite.admin, [
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
      const retries = (await suite.events(h, created.id)).filter(
        e => e.type === 'retry.scheduled',
      );
      expect(retries).toHaveLength(2);
      for (const retry of retries) {
        expect(retry.message).toMatch(
          /^Helm install Job helm-install-1 failed because an admission webhook in the cluster was not answering; it runs again after a backoff\./,
        );
        expect(retry.message).toContain('connect: connection refused');
      }
      expect(await helmHistory(suite.admin, created.namespace)).toEqual([
        'v1:deployed',
      ]);
      expect(helmActivity.mostJobsAtOnce.get(created.namespace)).toBe(1);
      expect(helmActivity.failedHelmPods.get(created.namespace)?.size).toBe(2);
      expect(helmActivity.highestRevision.get(created.namespace)).toBe(1);
      expect(helmActivity.errors).toEqual([]);
    } finally {
      helmActivity.stop();
      await setSimHelmFaults(suite.admin, []);
    }
  });

  it('clears the lock of a helm killed midway (pending-install) and installs revision 1', async () => {
    const h = await suite.harness();
    await setSimHelmFaults(suite.admin, [
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
      const log = await suite.events(h, created.id);
      expect(log.find(e => e.type === 'retry.scheduled')!.message).toMatch(
        /^Helm install Job helm-install-1 was interrupted before helm finished/,
      );
      expect(log.find(e => e.type === 'helm.lock.cleared')!.message).toBe(
        'Helm release woocommerce revision 1 was left pending-install by a Helm run that was stopped midway; removed that lock (no other Helm Job of this store is running)',
      );
      expect(await helmHistory(suite.admin, created.namespace)).toEqual([
        'v1:deployed',
      ]);
    } finally {
      await setSimHelmFaults(suite.admin, []);
    }
  });

  it('gives up on a WordPress that answers one byte a second within the health check deadline, and is Ready once it answers', async () => {
    const h = await suite.harness({
      healthCheck: {
        mode: 'url',
        urlTemplate: `${suite.health.url}/{namespace}`,
        timeout: { seconds: 2 },
      },
    });
    const created = await h.service.createStore(
      { name: 'slow-wp', owner: OWNER, plan: 'small' },
      USER,
    );
    suite.health.slow.add(created.namespace);
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
      suite.health.slow.delete(created.namespace);
    }
    const retry = (await suite.events(h, created.id)).find(
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

  it('runs a store of an engine a backend module adds (Medusa), chosen through the API, from request to deletion', async () => {
    const started = Date.now();
    const backend = await startRealClusterBackend(suite, [medusaEngineModule]);
    try {
      const api = (method: 'get' | 'post' | 'delete', url: string) =>
        request(backend.server)
          [method](`/api/stores${url}`)
          .set('Authorization', USER_AUTHORIZATION);

      // What a client (the template's engine field) offers: the backend's engines.
      const engines = await api('get', '/engines');
      expect(engines.body.items).toEqual([
        { name: 'woocommerce', title: 'WooCommerce' },
        { name: 'medusa', title: 'Medusa' },
      ]);
      const created = await api('post', '/stores').send({
        name: 'medusa-shop',
        owner: OWNER,
        plan: 'small',
        engine: 'medusa',
      });
      expect(created.status).toBe(201);
      const { id, namespace } = created.body;

      const settled = await waitFor(
        'the Medusa store to settle',
        async () => {
          const { body } = await api('get', `/stores/${id}`);
          return ['Ready', 'Failed'].includes(body.status) ? body : undefined;
        },
        180_000,
      ).catch(async error => {
        const { body: store } = await api('get', `/stores/${id}`);
        const { body: events } = await api('get', `/stores/${id}/events`);
        throw new Error(
          `${error.message}: ${JSON.stringify({ store, events }, null, 1)}`,
        );
      });
      expect(settled).toMatchObject({
        status: 'Ready',
        engine: 'medusa',
        lastError: null,
        adminUrl: expect.stringMatching(/\/app$/),
      });
      // helm installed the engine's own chart, under the installer role, in the guardrails.
      const deployment = await suite.admin.read<KubernetesObject>(
        'apps/v1',
        'Deployment',
        namespace,
        'medusa-server',
      );
      expect(deployment?.metadata?.labels).toMatchObject({
        'app.kubernetes.io/managed-by': 'Helm',
        'app.kubernetes.io/name': 'medusa-store',
      });
      for (const [apiVersion, kind, name] of [
        ['apps/v1', 'StatefulSet', 'medusa-postgres'],
        ['networking.k8s.io/v1', 'Ingress', 'medusa-server'],
        ['v1', 'Secret', 'sh.helm.release.v1.medusa.v1'],
        ['networking.k8s.io/v1', 'NetworkPolicy', 'storeplane-allow-database'],
      ]) {
        expect(
          await suite.admin.read(apiVersion, kind, namespace, name),
        ).toBeDefined();
      }
      expect(suite.health.requests).toContain(`/${namespace}/health`);
      const credentials = await api('get', `/stores/${id}/credentials`);
      expect(credentials.body).toMatchObject({
        adminUsername: `admin@${namespace}.stores.example.com`,
        adminPassword: expect.stringMatching(/^[\w-]{32}$/),
      });
      const readyMs = Date.now() - started;

      expect((await api('delete', `/stores/${id}`)).status).toBe(202);
      await waitFor(
        'the Medusa store to be deleted',
        async () =>
          (await api('get', `/stores/${id}`)).status === 404 ? true : undefined,
        120_000,
      );
      await suite.waitForNamespaceGone(namespace);
      // eslint-disable-next-line no-console
      console.log(
        `Medusa engine from a module: Ready in ${readyMs} ms, deleted ${
          Date.now() - started - readyMs
        } ms later`,
      );
    } finally {
      await backend.stop();
    }
  });

  it("backs up a store through the API as its owner, downloads the dump through the reader pod and the API server's pod proxy, and restores it", async () => {
    // The sim really runs the dump and restore Jobs against its throwaway MariaDB.
    expect(suite.cluster.mariadb).toBe(true);
    const started = Date.now();
    // The store's NetworkPolicy admits the API server's pod proxy to the reader from here.
    const backend = await startRealClusterBackend(suite, [], {
      storeplane: {
        network: {
          healthCheckSourceCidrs: [`${suite.cluster.apiServerSourceIp}/32`],
        },
      },
    });
    try {
      const api = (
        method: 'get' | 'post',
        url: string,
        authorization = USER_AUTHORIZATION,
      ) =>
        request(backend.server)
          [method](`/api/stores${url}`)
          .set('Authorization', authorization);
      const settle = async (id: string, what: string, statuses: string[]) =>
        waitFor(
          what,
          async () => {
            const { body } = await api('get', `/stores/${id}`);
            return statuses.includes(body.status) ? body : undefined;
          },
          180_000,
        ).catch(async error => {
          const { body: events } = await api('get', `/stores/${id}/events`);
          throw new Error(
            `${error.message}: ${JSON.stringify(events, null, 1)}`,
          );
        });

      const created = await api('post', '/stores').send({
        name: 'backup-shop',
        owner: OWNER,
        plan: 'small',
      });
      expect(created.status).toBe(201);
      const { id, namespace } = created.body;
      expect(
        await settle(id, 'the store to settle', ['Ready', 'Failed']),
      ).toMatchObject({ status: 'Ready' });
      const readyMs = Date.now() - started;

      // Someone outside the owning group may neither back up nor download.
      const outsiderBackup = await api(
        'post',
        `/stores/${id}/backups`,
        OUTSIDER_AUTHORIZATION,
      );
      expect(outsiderBackup.status).toBe(403);
      expect((await api('get', `/stores/${id}/backups`)).body.items).toEqual(
        [],
      );

      const requested = await api('post', `/stores/${id}/backups`);
      expect(requested.status).toBe(202);
      const backupId = requested.body.id;
      const backup = await waitFor(
        'the backup to finish',
        async () => {
          const { body } = await api('get', `/stores/${id}/backups`);
          const found = body.items.find((b: any) => b.id === backupId);
          return ['Succeeded', 'Failed'].includes(found?.status)
            ? found
            : undefined;
        },
        120_000,
      );
      expect(backup).toMatchObject({ status: 'Succeeded', message: null });
      expect(backup.sizeBytes).toBeGreaterThan(0);
      const backedUpMs = Date.now() - started;

      const outsiderDownload = await api(
        'get',
        `/stores/${id}/backups/${backupId}/download`,
        OUTSIDER_AUTHORIZATION,
      );
      expect(outsiderDownload.status).toBe(403);
      // Refused before anything reached the cluster: no reader pod.
      expect(
        await suite.admin.read('v1', 'Pod', namespace, BACKUP_READER_POD),
      ).toBeUndefined();

      const download = await api(
        'get',
        `/stores/${id}/backups/${backupId}/download`,
      )
        .buffer(true)
        .parse((res, done) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => done(null, Buffer.concat(chunks)));
        });
      expect(download.status).toBe(200);
      expect(download.headers).toMatchObject({
        'content-type': 'application/gzip',
        'content-disposition': expect.stringMatching(
          new RegExp(
            `^attachment; filename="${id}-\\d{8}T\\d{6}Z?\\.sql\\.gz"$`,
          ),
        ),
        'content-length': String(backup.sizeBytes),
      });
      const dump = gunzipSync(download.body as Buffer).toString('utf8');
      expect(dump).toContain('storeplane_sim');
      expect(dump).toContain(`('marker','${namespace}')`);
      const downloadedMs = Date.now() - started;

      // Restore: the changed row is back as the dump had it.
      await suite.cluster.setSimMarker(namespace, 'wordpress', 'after backup');
      const outsiderRestore = await api(
        'post',
        `/stores/${id}/backups/${backupId}/restore`,
        OUTSIDER_AUTHORIZATION,
      );
      expect(outsiderRestore.status).toBe(403);
      const restore = await api(
        'post',
        `/stores/${id}/backups/${backupId}/restore`,
      );
      expect(restore.status).toBe(202);
      expect(restore.body.status).toBe('Restoring');
      expect(
        await settle(id, 'the restore to finish', ['Ready', 'Failed']),
      ).toMatchObject({ status: 'Ready', lastError: null });
      const { body: events } = await api('get', `/stores/${id}/events`);
      expect(events.items.map((e: any) => e.type)).toEqual(
        expect.arrayContaining([
          'restore.requested',
          'restore.started',
          'restore.succeeded',
        ]),
      );
      expect(
        events.items.filter((e: any) => e.type === 'restore.failed'),
      ).toEqual([]);
      expect(await suite.cluster.simMarker(namespace, 'wordpress')).toBe(
        namespace,
      );
      // eslint-disable-next-line no-console
      console.log(
        `Backup through the API: store Ready in ${readyMs} ms, backup Succeeded ${
          backedUpMs - readyMs
        } ms later, downloaded (${backup.sizeBytes} bytes) ${
          downloadedMs - backedUpMs
        } ms later, restored ${Date.now() - started - downloadedMs} ms later`,
      );
    } finally {
      await backend.stop();
    }
  });

  it('cannot grant itself more than it holds: binding a ClusterRole without `bind` on it is refused', async () => {
    const sa = suite.serviceAccountClient();
    await suite.admin.apply({
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
          name: suite.rbac.serviceAccount,
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
    const sa = suite.serviceAccountClient();
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
    kc.loadFromFile(suite.cluster.adminKubeconfigPath);
    const api = KubernetesObjectApi.makeApiClient(kc);
    const namespace = 'dryrun-charts';
    await suite.admin.apply({
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
});
