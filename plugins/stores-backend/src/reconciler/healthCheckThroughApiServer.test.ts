/**
 * The default health check (healthCheck.mode serviceProxy) on a real kube-apiserver: the API
 * server resolves the store's Service to its Endpoints and connects to the pod, through its
 * "cluster" egress to the kubelet stand-in, which answers for the simulated WordPress and
 * enforces the namespace's NetworkPolicies for the API server's address (see
 * packages/test-cluster). Also what the sandbox shows of a Ready store: its storefront through
 * the ingress stand-in, and its objects the way Backstage's Kubernetes tab lists them.
 */
import { TestDatabases } from '@backstage/backend-test-utils';
import { Knex } from 'knex';
import {
  startTestCluster,
  TestCluster,
  testClusterAvailability,
} from '@internal/test-cluster';
import { dumpYaml } from '@kubernetes/client-node';
import { KUBERNETES_ID_LABEL } from '@storeplane/plugin-stores-common';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parse } from 'yaml';
import { KubernetesClient } from '../kubernetes/KubernetesClient';
import { DomainResolver } from '../domains/DomainResolver';
import { createHarness, Harness } from '../__testUtils__/harness';
import { updatePlans } from '../__testUtils__/updatePlans';
import { brokenChartRelease } from '../__testUtils__/brokenChartRelease';
import {
  auditedRequests,
  kubernetesClientFromFile,
  readRbacRules,
  renderStoreplaneRbac,
  STOREPLANE_NAMESPACE,
} from '../__testUtils__/realCluster';

const availability = testClusterAvailability();
if (!availability.available) {
  const message = `\n!!! SKIPPING the service-proxy health check tests: ${availability.reason}\n`;
  if (process.env.STOREPLANE_REQUIRE_CLUSTER) throw new Error(message);
  // eslint-disable-next-line no-console
  console.warn(message);
}
const describeWithCluster = availability.available ? describe : describe.skip;

const OWNER = 'group:default/team-a';
const USER = 'user:default/ann';
const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const DNS_TARGET = 'ingress.example.net';

/** Kinds of the resources in rbac-rules.yaml's kubernetesTabRules. */
const KIND_OF: Record<string, string> = {
  pods: 'Pod',
  services: 'Service',
  configmaps: 'ConfigMap',
  limitranges: 'LimitRange',
  resourcequotas: 'ResourceQuota',
  deployments: 'Deployment',
  replicasets: 'ReplicaSet',
  statefulsets: 'StatefulSet',
  daemonsets: 'DaemonSet',
  horizontalpodautoscalers: 'HorizontalPodAutoscaler',
  jobs: 'Job',
  cronjobs: 'CronJob',
  ingresses: 'Ingress',
};

/** GET through the ingress stand-in, as a browser opening the store's URL would. */
function getThroughIngress(ingressAddress: string, url: string) {
  const { host, pathname } = new URL(url);
  const [hostname, port] = ingressAddress.split(':');
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    http
      .get({ hostname, port, path: pathname, headers: { host } }, response => {
        let body = '';
        response.on('data', chunk => (body += chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body }),
        );
      })
      .on('error', reject);
  });
}

describeWithCluster("the health check through the API server's proxy", () => {
  jest.setTimeout(5 * 60_000);

  let cluster: TestCluster;
  let admin: KubernetesClient;
  let storeplane: () => KubernetesClient;
  let rbac: ReturnType<typeof renderStoreplaneRbac>;

  beforeAll(async () => {
    cluster = await startTestCluster({ ingress: true });
    admin = kubernetesClientFromFile(cluster.adminKubeconfigPath);
    await admin.apply({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: STOREPLANE_NAMESPACE },
    });
    rbac = renderStoreplaneRbac();
    for (const object of rbac.objects) await admin.apply(object);
    const kubeconfig = await cluster.kubeconfigForServiceAccount(
      STOREPLANE_NAMESPACE,
      rbac.serviceAccount,
    );
    storeplane = () => kubernetesClientFromFile(kubeconfig, 5_000);
  }, 30 * 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  async function harness(
    healthCheckSourceCidrs: string[],
    options: {
      knex?: Knex;
      chartPath?: string;
      plans?: Record<string, unknown>;
      domainResolver?: DomainResolver;
    } = {},
  ): Promise<Harness> {
    const knex = options.knex ?? (await databases.init('SQLITE_3'));
    return createHarness(knex, {
      realTime: true,
      kubernetes: storeplane,
      domainResolver: options.domainResolver,
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
        // The shipped default mode, as the sandbox configures it.
        healthCheck: { mode: 'serviceProxy' },
        network: { healthCheckSourceCidrs },
        ingress: {
          baseDomain: 'localhost',
          port: Number(cluster.ingressAddress!.split(':')[1]),
        },
        reconciler: {
          maxAttempts: 10,
          initialBackoff: { milliseconds: 500 },
          maxBackoff: { seconds: 2 },
          stepTimeout: { minutes: 5 },
        },
        helm: {
          timeout: '3m',
          ...(options.chartPath ? { chart: { path: options.chartPath } } : {}),
        },
        ...(options.plans ? { plans: options.plans } : {}),
        domains: { ingressAddress: DNS_TARGET, checkInterval: { seconds: 1 } },
      },
    });
  }

  it("reaches Ready through the service proxy, which the store's NetworkPolicies admit from the API server's address", async () => {
    const h = await harness([`${cluster.apiServerSourceIp}/32`]);
    const started = Date.now();
    const created = await h.service.createStore(
      { name: 'proxied-shop', owner: OWNER, plan: 'small' },
      USER,
    );
    const ns = created.namespace;
    const ready = await h.runUntil(
      created.id,
      s => s?.status === 'Ready' || s?.status === 'Failed',
      180,
    );
    expect(ready).toMatchObject({ status: 'Ready', lastError: null });
    const health = (await h.repository.listEvents(created.id, 100)).find(
      e => e.type === 'health.passed',
    );
    expect(health!.message).toBe(
      "WordPress answered HTTP 200 on /wp-login.php via the API server's service proxy to woocommerce-wordpress:http",
    );
    // It was Storeplane's own identity that went through the proxy, with its namespace role.
    const proxied = auditedRequests(
      cluster.auditLogPath!,
      `system:serviceaccount:${STOREPLANE_NAMESPACE}:${rbac.serviceAccount}`,
      started,
    ).filter(r => r.resource === 'services/proxy');
    expect(proxied).toContainEqual({
      verb: 'get',
      resource: 'services/proxy',
      namespace: ns,
      name: 'woocommerce-wordpress:http',
      code: 200,
      receivedAt: expect.any(Number),
      completedAt: expect.any(Number),
    });
    // The rule that let the API server in: its address, on WordPress's port only.
    // (dumpYaml: back to the API's field names from client-node's typed model.)
    const policy = parse(
      dumpYaml(
        await admin.read(
          'networking.k8s.io/v1',
          'NetworkPolicy',
          ns,
          'storeplane-allow-ingress-controller',
        ),
      ),
    );
    expect(policy.spec.ingress).toEqual([
      {
        from: [
          {
            namespaceSelector: {
              matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' },
            },
          },
          { ipBlock: { cidr: `${cluster.apiServerSourceIp}/32` } },
        ],
        ports: [{ protocol: 'TCP', port: 8080 }],
      },
    ]);

    // The storefront and admin links answer: Ingress -> Service -> pod, as the ingress
    // controller in ingress-nginx, which the same policy admits.
    expect(ready!.storefrontUrl).toMatch(
      /^http:\/\/store-proxied-shop-.+\.localhost:\d+$/,
    );
    for (const url of [ready!.storefrontUrl!, ready!.adminUrl!]) {
      const page = await getThroughIngress(cluster.ingressAddress!, url);
      expect(page.status).toBe(200);
      expect(page.body).toContain('no real WordPress');
      expect(page.body).toContain(`${ns}/woocommerce-wordpress-`);
    }

    // What the store's Kubernetes tab lists, with Storeplane's identity: every object type
    // the tab fetches is readable, and the workloads and pods carry the entity's id.
    const found: string[] = [];
    for (const rule of readRbacRules().storeManager.kubernetesTabRules) {
      for (const resource of rule.resources as string[]) {
        const apiVersion = rule.apiGroups[0] ? `${rule.apiGroups[0]}/v1` : 'v1';
        const kind = KIND_OF[resource];
        const items = await storeplane().list(
          apiVersion,
          kind,
          ns,
          `${KUBERNETES_ID_LABEL}=${ns}`,
        );
        found.push(...items.map(i => `${kind}/${i.metadata!.name}`));
      }
    }
    expect(found).toEqual(
      expect.arrayContaining([
        'Deployment/woocommerce-wordpress',
        'StatefulSet/woocommerce-mariadb',
        'Pod/woocommerce-mariadb-0',
        'Service/woocommerce-wordpress',
        'Ingress/woocommerce-wordpress',
        'Job/helm-install-1',
      ]),
    );
    expect(
      found.filter(f => f.startsWith('Pod/woocommerce-wordpress-')),
    ).toHaveLength(1);
  });

  it('renames a store without touching its release, changes the plan with a Helm upgrade, rolls an upgrade whose health gate fails back to the old revision, and sets and removes a custom domain', async () => {
    const cidrs = [`${cluster.apiServerSourceIp}/32`];
    const knex = await databases.init('SQLITE_3');
    const plans = updatePlans;
    // The DNS check answers what the test says (no DNS server here to point a domain at).
    let domainResolves = false;
    const domainResolver: DomainResolver = {
      check: async (domain, target) => ({
        pointsAtIngress: domainResolves,
        message: domainResolves
          ? `${domain} is a CNAME of ${target}`
          : `${domain} does not point at ${target} yet`,
      }),
    };
    const h = await harness(cidrs, { knex, plans, domainResolver });
    const created = await h.service.createStore(
      { name: 'upgraded-shop', owner: OWNER, plan: 'small' },
      USER,
    );
    const ns = created.namespace;
    const settled = (s?: { status: string }) =>
      s?.status === 'Ready' || s?.status === 'Failed';
    const ready = await h.runUntil(created.id, settled, 180);
    expect(ready).toMatchObject({
      status: 'Ready',
      chartVersion: '0.1.0',
      helmRevision: 1,
    });

    // Rename: the display name changes, the release and the cluster do not.
    const renamed = await h.service.updateStore(
      ready!,
      { displayName: 'Upgraded Shop — renamed' },
      USER,
    );
    expect(await h.runUntil(created.id, settled, 60)).toMatchObject({
      status: 'Ready',
      displayName: 'Upgraded Shop — renamed',
      helmRevision: 1,
    });

    // Plan change: guardrails and the release follow the plan, with Helm revision 2.
    await h.service.updateStore(renamed, { plan: 'medium' }, USER);
    const changed = await h.runUntil(created.id, settled, 180);
    expect(changed).toMatchObject({
      status: 'Ready',
      plan: 'medium',
      appliedPlan: 'medium',
      helmRevision: 2,
      chartVersion: '0.1.0',
      lastError: null,
    });
    const quota = await admin.read<any>(
      'v1',
      'ResourceQuota',
      ns,
      'storeplane-quota',
    );
    expect(quota.spec.hard['requests.cpu']).toBe('1060m');
    const wordpress = () =>
      admin.read<any>('apps/v1', 'Deployment', ns, 'woocommerce-wordpress');
    expect(
      (await wordpress()).spec.template.spec.containers[0].resources.requests
        .cpu,
    ).toBe('500m');

    // A backend that now ships a chart whose WordPress fails its health check.
    const later = await harness(cidrs, {
      knex,
      plans,
      chartPath: brokenChartRelease(),
    });
    const upgradeStarted = (await later.repository.listEvents(created.id, 1))[0]
      .id;
    await later.service.upgradeStore(changed!, USER);
    const rolledBack = await later.runUntil(created.id, settled, 240);
    if (rolledBack?.status !== 'Ready') {
      const events = await later.repository.listEvents(created.id, 8);
      const simLog = readFileSync(path.join(cluster.logs(), 'sim.log'), 'utf8')
        .split('\n')
        .filter(line => line.includes(ns))
        .slice(-40);
      throw new Error(
        `The store is ${rolledBack?.status}: ${events
          .map(e => `${e.type}: ${e.message}`)
          .join(' | ')}\nsim.log:\n${simLog.join('\n')}`,
      );
    }
    expect(rolledBack).toMatchObject({
      status: 'Ready',
      plan: 'medium',
      chartVersion: '0.1.0',
      helmRevision: 4,
      observedGeneration: 3,
    });
    expect(rolledBack!.lastError).toMatch(
      /^The update failed and was rolled back to revision 2 \(chart 0\.1\.0\) on plan medium: Gave up after 10 attempts: WordPress answered HTTP 500 on \/wp-login\.php/,
    );
    const events = (await later.repository.listEvents(created.id, 100))
      .filter(e => e.id > upgradeStarted)
      .reverse();
    expect(events.map(e => e.type)).toEqual(
      expect.arrayContaining([
        'upgrade.requested',
        'helm.upgrade.succeeded',
        'workloads.available',
        'update.failed',
        'update.rolledBack',
      ]),
    );
    expect(events.find(e => e.type === 'upgrade.requested')!.message).toMatch(
      /^Upgrade from chart 0\.1\.0 to 0\.2\.0 requested/,
    );
    expect(events.at(-1)).toMatchObject({
      type: 'update.rolledBack',
      level: 'error',
    });
    // Helm's own history: the broken revision 3 superseded by the rollback's revision 4.
    const history = (
      await admin.list<any>('v1', 'Secret', ns, 'owner=helm,name=woocommerce')
    )
      .map(r => `v${r.metadata.labels.version}:${r.metadata.labels.status}`)
      .sort();
    expect(history).toEqual([
      'v1:superseded',
      'v2:superseded',
      'v3:superseded',
      'v4:deployed',
    ]);
    expect(
      (await wordpress()).spec.template.metadata.annotations,
    ).not.toHaveProperty('storeplane.io/sim-http-status');
    // The old release answers again through the same proxy the health gate uses.
    let status = 0;
    for (let i = 0; i < 60 && status !== 200; i++) {
      status = await storeplane()
        .getThroughServiceProxy(
          ns,
          'woocommerce-wordpress',
          'http',
          '/wp-login.php',
          5_000,
        )
        .catch(() => 0);
      if (status !== 200) await new Promise(r => setTimeout(r, 1000));
    }
    expect(status).toBe(200);

    // A custom domain: a Helm upgrade (this backend ships chart 0.1.0 again) puts it on the
    // Ingress beside the platform host; the store stays Ready while the domain awaits DNS.
    const domainStarted = Date.now();
    await h.domains.setDomain(
      rolledBack!,
      { domain: 'shop.example.org' },
      USER,
    );
    const withDomain = await h.runUntil(created.id, settled, 180);
    expect(withDomain).toMatchObject({
      status: 'Ready',
      domain: 'shop.example.org',
      appliedDomain: 'shop.example.org',
      helmRevision: 5,
      domainStatus: 'AwaitingDns',
    });
    const ingressHosts = async () => {
      const ingress = await admin.read<any>(
        'networking.k8s.io/v1',
        'Ingress',
        ns,
        'woocommerce-wordpress',
      );
      return ingress.spec.rules.map((r: { host: string }) => r.host);
    };
    const platformHost = new URL(withDomain!.storefrontUrl!).hostname;
    expect(await ingressHosts()).toEqual([platformHost, 'shop.example.org']);
    // The ingress controller (an informer's cache, a moment behind) serves both hosts.
    const ingressPort = cluster.ingressAddress!.split(':')[1];
    const statusOn = async (host: string, expected: number) => {
      let answered = 0;
      for (let i = 0; i < 20 && answered !== expected; i++) {
        if (i > 0) await new Promise(r => setTimeout(r, 500));
        answered = (
          await getThroughIngress(
            cluster.ingressAddress!,
            `http://${host}:${ingressPort}/`,
          )
        ).status;
      }
      return answered;
    };
    expect(await statusOn(platformHost, 200)).toBe(200);
    expect(await statusOn('shop.example.org', 200)).toBe(200);
    const awaiting = await h.runUntil(
      created.id,
      s => s?.domainCheckedAt !== null,
      10,
    );
    expect(awaiting).toMatchObject({
      status: 'Ready',
      domainStatus: 'AwaitingDns',
      domainMessage: `shop.example.org does not point at ${DNS_TARGET} yet`,
    });
    domainResolves = true;
    const active = await h.runUntil(
      created.id,
      s => s?.domainStatus === 'Active',
      10,
    );
    expect(active).toMatchObject({ status: 'Ready', helmRevision: 5 });

    await h.domains.removeDomain(active!, USER);
    const removed = await h.runUntil(created.id, settled, 180);
    expect(removed).toMatchObject({
      status: 'Ready',
      domain: null,
      domainStatus: null,
      helmRevision: 6,
    });
    expect(await ingressHosts()).toEqual([platformHost]);
    expect(await statusOn('shop.example.org', 404)).toBe(404);
    expect(await statusOn(platformHost, 200)).toBe(200);
    // eslint-disable-next-line no-console
    console.log(
      `custom domain set, checked both ways and removed in ${(
        (Date.now() - domainStarted) /
        1000
      ).toFixed(1)} s`,
    );
  });

  it("keeps the store Provisioning and says why when its NetworkPolicies drop the API server's connections", async () => {
    const h = await harness([]);
    const created = await h.service.createStore(
      { name: 'fenced-shop', owner: OWNER, plan: 'small' },
      USER,
    );
    const waiting = await h.runUntil(
      created.id,
      s =>
        s?.status === 'Failed' ||
        (s?.step === 'health' && (s?.attempts ?? 0) >= 2),
      180,
    );
    expect(waiting).toMatchObject({ status: 'Provisioning', step: 'health' });
    expect(waiting!.lastError).toMatch(/^WordPress answered HTTP 503 on/);
    const simLog = readFileSync(path.join(cluster.logs(), 'sim.log'), 'utf8');
    expect(simLog).toContain(
      `NetworkPolicy drops kube-apiserver (${cluster.apiServerSourceIp}) -> pod ${created.namespace}/woocommerce-wordpress-`,
    );
  });
});
