import { TestDatabases } from '@backstage/backend-test-utils';
import {
  startTestCluster,
  TestCluster,
  testClusterAvailability,
} from '@internal/test-cluster';
import { KubernetesClient } from '../kubernetes/KubernetesClient';
import { createHarness, Harness } from './harness';
import {
  kubernetesClientFromFile,
  renderStoreplaneRbac,
  startHealthStandIn,
  STOREPLANE_NAMESPACE,
} from './realCluster';

export const OWNER = 'group:default/team-a';
export const USER = 'user:default/ann';

const availability = testClusterAvailability();
if (!availability.available) {
  const message = `\n!!! SKIPPING the real-cluster tests: ${availability.reason}\n`;
  if (process.env.STOREPLANE_REQUIRE_CLUSTER) throw new Error(message);
  // eslint-disable-next-line no-console
  console.warn(message);
}

/**
 * `describe` when the test control plane can run here, else `describe.skip` after a loud
 * warning (an error under STOREPLANE_REQUIRE_CLUSTER, as scripts/test.sh sets it).
 */
export const describeWithRealCluster = availability.available
  ? describe
  : describe.skip;

/**
 * One test file's control plane: a real API server with Storeplane's RBAC from the chart, its
 * ServiceAccount's kubeconfig, and an HTTP health-check stand-in. Each file that uses it runs
 * its own control plane, so Jest can run such files side by side.
 */
export class RealClusterSuite {
  cluster!: TestCluster;
  admin!: KubernetesClient;
  rbac!: ReturnType<typeof renderStoreplaneRbac>;
  serviceAccountKubeconfig!: string;
  health!: Awaited<ReturnType<typeof startHealthStandIn>>;
  private readonly databases = TestDatabases.create({ ids: ['SQLITE_3'] });

  /** Registers the suite's beforeAll/afterAll in the calling describe block. */
  static use(): RealClusterSuite {
    const suite = new RealClusterSuite();
    beforeAll(() => suite.start(), 30 * 60_000);
    afterAll(() => suite.stop());
    return suite;
  }

  private async start() {
    this.cluster = await startTestCluster();
    this.admin = kubernetesClientFromFile(this.cluster.adminKubeconfigPath);
    await this.admin.apply({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: STOREPLANE_NAMESPACE },
    });
    this.rbac = renderStoreplaneRbac();
    for (const object of this.rbac.objects) await this.admin.apply(object);
    this.serviceAccountKubeconfig =
      await this.cluster.kubeconfigForServiceAccount(
        STOREPLANE_NAMESPACE,
        this.rbac.serviceAccount,
      );
    this.health = await startHealthStandIn();
  }

  private async stop() {
    await this.health?.close();
    await this.cluster?.stop();
  }

  /** The user name of Storeplane's ServiceAccount, as the API server's audit log has it. */
  serviceAccountUser(): string {
    return `system:serviceaccount:${STOREPLANE_NAMESPACE}:${this.rbac.serviceAccount}`;
  }

  /** A fresh SQLite database of this suite, for a backend (or several, one after another). */
  database() {
    return this.databases.init('SQLITE_3');
  }

  /** A client acting as Storeplane's ServiceAccount. */
  serviceAccountClient(timeoutMs?: number): KubernetesClient {
    return kubernetesClientFromFile(this.serviceAccountKubeconfig, timeoutMs);
  }

  /** The stores plugin on SQLite, acting as Storeplane's ServiceAccount on this cluster. */
  async harness(
    configOverrides: Record<string, unknown> = {},
  ): Promise<Harness> {
    const knex = await this.database();
    return createHarness(knex, {
      realTime: true,
      kubernetes: () => this.serviceAccountClient(5_000),
      configOverrides: {
        kubernetes: {
          requestTimeout: { seconds: 5 },
          rbac: {
            serviceAccount: {
              namespace: STOREPLANE_NAMESPACE,
              name: this.rbac.serviceAccount,
            },
            storeManagerClusterRole: this.rbac.storeManagerRole,
            storeInstallerClusterRole: this.rbac.storeInstallerRole,
          },
        },
        healthCheck: {
          mode: 'url',
          urlTemplate: `${this.health.url}/{namespace}`,
        },
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

  /** A store's events, oldest first. */
  async events(h: Harness, id: string) {
    return (await h.repository.listEvents(id, 500)).reverse();
  }

  async waitForNamespaceGone(name: string) {
    for (let i = 0; i < 120; i++) {
      if (!(await this.admin.read('v1', 'Namespace', undefined, name))) return;
      await new Promise(resolve => setTimeout(resolve, 500));
    }
    throw new Error(`namespace ${name} was not deleted`);
  }
}
