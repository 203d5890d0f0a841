import { ConfigReader } from '@backstage/config';
import {
  KUBERNETES_ID_LABEL,
  storeKubernetesId,
} from '@storeplane/plugin-stores-common';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { readStoresConfig } from '../config/readStoresConfig';
import { CHART_DIR } from '../__testUtils__/harness';
import { REPO_ROOT, renderStoreChart } from '../__testUtils__/realCluster';
import { backupJobManifest } from '../kubernetes/backupResources';
import { formatMebibytes, parseQuantity } from './quantity';
import { createWooCommerceEngine } from './woocommerceEngine';

// The plans users really get: the ones in the repository's app-config.yaml.
const appConfig = parse(
  readFileSync(path.join(REPO_ROOT, 'app-config.yaml'), 'utf8'),
);
const config = readStoresConfig(new ConfigReader(appConfig));
const engine = createWooCommerceEngine({ chartPath: CHART_DIR });

const renderWithEngineValues = (planName: string): any[] =>
  renderStoreChart(planName, config);

interface Totals {
  requestsCpu: number;
  requestsMemory: number;
  limitsCpu: number;
  limitsMemory: number;
  storage: number;
  persistentVolumeClaims: number;
  pods: number;
  maxCpu: number;
  maxMemory: number;
}

function totalsOf(objects: any[]): Totals {
  const totals: Totals = {
    requestsCpu: 0,
    requestsMemory: 0,
    limitsCpu: 0,
    limitsMemory: 0,
    storage: 0,
    persistentVolumeClaims: 0,
    pods: 0,
    maxCpu: 0,
    maxMemory: 0,
  };
  const addContainers = (podSpec: any, count: number) => {
    totals.pods += count;
    for (const c of [
      ...(podSpec.initContainers ?? []),
      ...podSpec.containers,
    ]) {
      const { requests, limits } = c.resources;
      // Init containers run before the others, but quota admission counts them too: sum all.
      totals.requestsCpu += parseQuantity(requests.cpu) * count;
      totals.requestsMemory += parseQuantity(requests.memory) * count;
      totals.limitsCpu += parseQuantity(limits.cpu) * count;
      totals.limitsMemory += parseQuantity(limits.memory) * count;
      totals.maxCpu = Math.max(totals.maxCpu, parseQuantity(limits.cpu));
      totals.maxMemory = Math.max(
        totals.maxMemory,
        parseQuantity(limits.memory),
      );
    }
  };
  for (const o of objects) {
    if (o.kind === 'Deployment')
      addContainers(
        o.spec.template.spec,
        o.spec.replicas + (o.spec.replicas > 1 ? 1 : 0),
      );
    if (o.kind === 'StatefulSet') {
      addContainers(o.spec.template.spec, o.spec.replicas ?? 1);
      for (const claim of o.spec.volumeClaimTemplates ?? []) {
        totals.storage += parseQuantity(claim.spec.resources.requests.storage);
        totals.persistentVolumeClaims += o.spec.replicas ?? 1;
      }
    }
    if (o.kind === 'Job') addContainers(o.spec.template.spec, 1);
    if (o.kind === 'PersistentVolumeClaim') {
      totals.storage += parseQuantity(o.spec.resources.requests.storage);
      totals.persistentVolumeClaims += 1;
    }
  }
  return totals;
}

describe('the WooCommerce chart', () => {
  it('is carried by the package, where the engine finds it by default', () => {
    const packageDir = path.resolve(__dirname, '../..');
    const chartPath = createWooCommerceEngine().bundledChartPath;
    expect(chartPath).toBe(
      path.join(packageDir, 'charts', 'woocommerce-store'),
    );
    expect(
      parse(readFileSync(path.join(chartPath, 'Chart.yaml'), 'utf8')).name,
    ).toBe('woocommerce-store');
    const packageJson = JSON.parse(
      readFileSync(path.join(packageDir, 'package.json'), 'utf8'),
    );
    expect(packageJson.files).toContain('charts');
  });

  it('keeps the WordPress and MariaDB pods of an upgrade to a chart and app version that change nothing else (no restart)', () => {
    const later = path.join(
      mkdtempSync(path.join(os.tmpdir(), 'storeplane-chart-')),
      'woocommerce-store',
    );
    cpSync(CHART_DIR, later, { recursive: true });
    const chartYaml = path.join(later, 'Chart.yaml');
    const bumped = readFileSync(chartYaml, 'utf8')
      .replace(/^version: .*$/m, 'version: 9.9.9')
      .replace(/^appVersion: .*$/m, 'appVersion: "9.9.9"');
    expect(bumped).toContain('version: 9.9.9');
    expect(bumped).toContain('appVersion: "9.9.9"');
    writeFileSync(chartYaml, bumped);

    const workloads = (objects: any[]) =>
      objects
        .filter(o => o.kind === 'Deployment' || o.kind === 'StatefulSet')
        .map(o => ({ kind: o.kind, template: o.spec.template }));
    const before = renderWithEngineValues('small');
    const after = renderStoreChart('small', config, later);
    expect(workloads(before)).toHaveLength(2);
    expect(workloads(after)).toEqual(workloads(before));
    // The objects themselves still say which chart made them.
    const deployment = (objects: any[]) =>
      objects.find(o => o.kind === 'Deployment');
    expect(deployment(after).metadata.labels).toMatchObject({
      'helm.sh/chart': 'woocommerce-store-9.9.9',
      'app.kubernetes.io/version': '9.9.9',
    });
    expect(deployment(after).spec.template.metadata.labels).toMatchObject({
      [KUBERNETES_ID_LABEL]: expect.any(String),
      'storeplane.io/store-id': expect.any(String),
    });
  });
});

describe('WooCommerce engine ↔ charts/woocommerce-store contract', () => {
  it('covers every plan in app-config.yaml', () => {
    expect([...config.plans.keys()]).toEqual(['small', 'medium', 'large']);
  });

  it.each([...config.plans.keys()])(
    'plan %s: the chart accepts the engine values and fits the guardrails',
    planName => {
      const objects = renderWithEngineValues(planName);
      const kinds = objects.map(o => `${o.kind}/${o.metadata.name}`).sort();
      expect(kinds).toEqual(
        expect.arrayContaining([
          'Deployment/woocommerce-wordpress',
          'StatefulSet/woocommerce-mariadb',
          'Service/woocommerce-wordpress',
          'Ingress/woocommerce-wordpress',
          'Job/woocommerce-setup',
        ]),
      );
      expect(objects.some(o => o.kind === 'Secret')).toBe(false);

      // The Service and port the health gate targets exist.
      const service = objects.find(
        o =>
          o.kind === 'Service' &&
          o.metadata.name === engine.healthCheck.service,
      );
      expect(service.spec.ports.map((p: any) => p.name)).toContain(
        engine.healthCheck.port,
      );
      // The NetworkPolicies select the chart's pods on their real ports.
      const wordpress = objects.find(o => o.kind === 'Deployment').spec
        .template;
      expect(wordpress.metadata.labels).toMatchObject(
        engine.network.webPodLabels,
      );
      expect(
        wordpress.spec.containers[0].ports.map((p: any) => p.containerPort),
      ).toContain(engine.network.webPort);
      const database = objects.find(o => o.kind === 'StatefulSet').spec
        .template;
      expect(database.metadata.labels).toMatchObject(
        engine.network.databasePodLabels,
      );
      expect(
        database.spec.containers[0].ports.map((p: any) => p.containerPort),
      ).toContain(engine.network.databasePort);

      // Backstage's Kubernetes tab finds every workload and pod by the entity's kubernetes-id.
      const kubernetesId = storeKubernetesId(`contract-${planName}`);
      const workloads = objects.filter(o =>
        ['Deployment', 'StatefulSet', 'Job'].includes(o.kind),
      );
      expect(workloads.length).toBeGreaterThanOrEqual(3);
      for (const workload of workloads) {
        for (const labels of [
          workload.metadata.labels,
          workload.spec.template.metadata.labels,
        ]) {
          expect(labels[KUBERNETES_ID_LABEL]).toBe(kubernetesId);
        }
        // Never in a selector: adding it must not change what a workload selects.
        expect(
          workload.spec.selector?.matchLabels?.[KUBERNETES_ID_LABEL],
        ).toBeUndefined();
      }

      // The image the backup Job dumps with is the chart's database image.
      expect(database.spec.containers[0].image).toBe(
        engine.databaseBackup!.image,
      );
      expect(database.spec.securityContext.runAsUser).toBe(
        engine.databaseBackup!.runAsUser,
      );

      // The release, a backup Job and the backups volume fit the budget together.
      const plan = config.plans.get(planName)!;
      const budget = engine.resourceBudget(plan);
      const totals = totalsOf([
        ...objects,
        backupJobManifest({
          store: {
            id: 'contract',
            namespace: 'store-contract',
            owner: 'group:default/a',
            engine: 'woocommerce',
            plan: planName,
          },
          backup: engine.databaseBackup!,
          backupId: 'b1',
          expiredFiles: [],
        }),
        {
          kind: 'PersistentVolumeClaim',
          spec: {
            resources: {
              requests: {
                storage: formatMebibytes(
                  engine.databaseBackup!.volumeSize(plan),
                ),
              },
            },
          },
        },
      ]);
      expect(totals.requestsCpu).toBeLessThanOrEqual(budget.requestsCpu + 1e-9);
      expect(totals.requestsMemory).toBeLessThanOrEqual(budget.requestsMemory);
      expect(totals.limitsCpu).toBeLessThanOrEqual(budget.limitsCpu + 1e-9);
      expect(totals.limitsMemory).toBeLessThanOrEqual(budget.limitsMemory);
      expect(totals.storage).toBeLessThanOrEqual(budget.storage);
      expect(totals.pods).toBeLessThanOrEqual(budget.pods);
      expect(totals.persistentVolumeClaims).toBe(budget.persistentVolumeClaims);
      expect(totals.maxCpu).toBeLessThanOrEqual(budget.maxContainerCpu + 1e-9);
      expect(totals.maxMemory).toBeLessThanOrEqual(budget.maxContainerMemory);
    },
  );
});
