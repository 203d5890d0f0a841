/**
 * The reconciler against a real kube-apiserver, etcd, controller-manager and a kubelet stand-in
 * that really runs helm (packages/test-cluster, built from Go modules). Storeplane acts with the
 * ServiceAccount token and RBAC that charts/backstage-storeplane grants it. Only the HTTP health
 * gate points at a local stand-in: the simulated pods serve no HTTP, and the API server's proxy
 * refuses their addresses.
 */
import { TestDatabases } from '@backstage/backend-test-utils';
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
import { apiMessage, KubernetesClient } from '../kubernetes/KubernetesClient';
import { createHarness, Harness, rewindStep } from '../__testUtils__/harness';
import {
  auditedRequests,
  kubernetesClientFromFile,
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
const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

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
        helm: { timeout: '3m', backoffLimit: 1 },
        ...configOverrides,
      },
    });
  }

  const events = async (h: Harness, id: string) =>
    (await h.repository.listEvents(id, 500)).reverse();

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
      helmAccount: await read('v1', 'ServiceAccount', 'storeplane-helm'),
      managerBinding: await read(
        'rbac.authorization.k8s.io/v1',
        'RoleBinding',
        'storeplane-store-manager',
      ),
    };
  }

  it('provisions a store to Ready with helm really installing the chart, then deletes it completely', async () => {
    const h = await harness();
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

  it("retries a failing Helm Job (backoffLimit) and then reports Failed with helm's own error", async () => {
    const h = await harness({
      helm: {
        timeout: '1m',
        backoffLimit: 1,
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
    expect(failed!.lastError).toMatch(
      /^Helm install Job helm-install-1 failed: Job has reached the specified backoff limit/,
    );
    expect(failed!.lastError).toMatch(/Error: .*does-not-exist\.tgz/);
    const pods = await admin.list(
      'v1',
      'Pod',
      created.namespace,
      'job-name=helm-install-1',
    );
    expect(pods).toHaveLength(2);
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
    // services/proxy serves healthCheck.mode serviceProxy, which cannot work here (see the file header).
    const exercised = grants.filter(g => g.resource !== 'services/proxy');
    const usedOnlyByDeletion = new Set([
      'namespaces:delete',
      'jobs:list',
      'jobs:delete',
      'serviceaccounts:get',
    ]);
    const usedOnlyWhenHelmFails = new Set(['pods:list']);

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

    it.each(exercised.filter(g => !usedOnlyByDeletion.has(key(g))).map(label))(
      'without %s provisioning is refused and the store says so in plain words',
      async (_, grant) => {
        const h = await harness(
          usedOnlyWhenHelmFails.has(key(grant))
            ? {
                helm: {
                  timeout: '1m',
                  backoffLimit: 0,
                  chart: {
                    source: 'reference',
                    reference: '/charts/missing.tgz',
                  },
                },
              }
            : {},
        );
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
  });
});
