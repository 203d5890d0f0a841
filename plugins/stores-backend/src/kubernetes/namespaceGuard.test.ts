/**
 * The admission policy of charts/storeplane-rbac (templates/namespace-guard.yaml) on a
 * real kube-apiserver: every rule is attempted by Storeplane's ServiceAccount with the chart's
 * RBAC, and refused; every allowed request succeeds. The whole store lifecycle under the same
 * policy is reconciler/realCluster.test.ts (it installs the same objects).
 */
import {
  startTestCluster,
  TestCluster,
  testClusterAvailability,
} from '@internal/test-cluster';
import { KubernetesObject } from '@kubernetes/client-node';
import { KubernetesClient } from './KubernetesClient';
import { namespaceManifest } from './storeResources';
import {
  kubernetesClientFromFile,
  renderStoreplaneRbac,
  STOREPLANE_NAMESPACE,
} from '../__testUtils__/realCluster';

const availability = testClusterAvailability();
if (!availability.available) {
  const message = `\n!!! SKIPPING the admission policy tests: ${availability.reason}\n`;
  if (process.env.STOREPLANE_REQUIRE_CLUSTER) throw new Error(message);
  // eslint-disable-next-line no-console
  console.warn(message);
}
const describeWithCluster = availability.available ? describe : describe.skip;

const store = (id: string) => ({
  id,
  namespace: `store-${id}`,
  owner: 'group:default/team-a',
  engine: 'woocommerce',
  plan: 'small',
});

describeWithCluster("the chart's admission policy on a real API server", () => {
  jest.setTimeout(5 * 60_000);

  let cluster: TestCluster;
  let admin: KubernetesClient;
  let sa: KubernetesClient;
  let rbac: ReturnType<typeof renderStoreplaneRbac>;

  beforeAll(async () => {
    cluster = await startTestCluster();
    admin = kubernetesClientFromFile(cluster.adminKubeconfigPath);
    await admin.apply({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: STOREPLANE_NAMESPACE },
    });
    rbac = renderStoreplaneRbac();
    if (!rbac.objects.some(o => o.kind === 'ValidatingAdmissionPolicy')) {
      throw new Error('the chart rendered no ValidatingAdmissionPolicy');
    }
    for (const object of rbac.objects) await admin.apply(object);
    sa = kubernetesClientFromFile(
      await cluster.kubeconfigForServiceAccount(
        STOREPLANE_NAMESPACE,
        rbac.serviceAccount,
      ),
    );
    // The policy is enforced once the API server has compiled it.
    await waitUntilRefused(() =>
      sa.createIfAbsent({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'store-probe' },
      }),
    );
  }, 30 * 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  async function waitUntilRefused(attempt: () => Promise<unknown>) {
    for (let i = 0; i < 60; i++) {
      try {
        await attempt();
      } catch (error) {
        if ((error as { code?: number }).code === 422) return;
        throw error;
      }
      await new Promise(resolve => setTimeout(resolve, 500));
    }
    throw new Error('the admission policy never took effect');
  }

  /**
   * The message with which the API server refused a request through a
   * ValidatingAdmissionPolicy (422 Invalid); throws when the request succeeded or failed
   * for another reason.
   */
  async function refusal(attempt: Promise<unknown>): Promise<string> {
    const error = await attempt.then(
      () => {
        throw new Error('the request succeeded, but should have been refused');
      },
      e => e as { code?: number; body?: string },
    );
    const message = String(JSON.parse(String(error.body)).message);
    if (error.code !== 422 || !/ValidatingAdmissionPolicy/.test(message)) {
      throw new Error(`refused, but not by the admission policy: ${message}`);
    }
    return message;
  }

  const managedNamespace = (
    id: string,
    labels: Record<string, string> = {},
  ) => {
    const ns = namespaceManifest(store(id));
    ns.metadata!.labels = { ...ns.metadata!.labels, ...labels };
    return ns;
  };

  const binding = (
    namespace: string,
    name: string,
    roleRef: { kind: string; name: string },
    subjects: Array<Record<string, string>>,
  ) =>
    ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...roleRef },
      subjects,
    } as KubernetesObject);

  const itself = () => ({
    kind: 'ServiceAccount',
    namespace: STOREPLANE_NAMESPACE,
    name: rbac.serviceAccount,
  });

  describe('namespaces', () => {
    it('creates a store namespace exactly as the reconciler writes it', async () => {
      const created = await sa.apply(managedNamespace('guard-ok'));
      expect(created.metadata?.labels).toMatchObject({
        'app.kubernetes.io/managed-by': 'storeplane',
        'pod-security.kubernetes.io/enforce': 'restricted',
      });
    });

    it('refuses a namespace not named store-*', async () => {
      const ns = managedNamespace('x');
      ns.metadata!.name = 'not-a-store';
      expect(await refusal(sa.createIfAbsent(ns))).toMatch(
        /may only manage namespaces named store-/,
      );
    });

    it('refuses a store-* namespace without the managed-by label', async () => {
      const ns = managedNamespace('unlabelled');
      delete ns.metadata!.labels!['app.kubernetes.io/managed-by'];
      expect(await refusal(sa.createIfAbsent(ns))).toMatch(
        /carry app.kubernetes.io\/managed-by=storeplane/,
      );
    });

    it.each([
      [
        'enforce privileged',
        { 'pod-security.kubernetes.io/enforce': 'privileged' },
      ],
      [
        'enforce baseline',
        { 'pod-security.kubernetes.io/enforce': 'baseline' },
      ],
      ['warn privileged', { 'pod-security.kubernetes.io/warn': 'privileged' }],
      [
        'an old enforce version',
        { 'pod-security.kubernetes.io/enforce-version': 'v1.20' },
      ],
    ])('refuses a store namespace with %s', async (_, labels) => {
      expect(
        await refusal(sa.createIfAbsent(managedNamespace('psa-bad', labels))),
      ).toMatch(/may only set Pod Security labels to restricted/);
    });

    it('refuses a store namespace without Pod Security enforcement', async () => {
      const ns = managedNamespace('psa-none');
      delete ns.metadata!.labels!['pod-security.kubernetes.io/enforce'];
      expect(await refusal(sa.createIfAbsent(ns))).toMatch(
        /may only set Pod Security labels to restricted \(enforce is required\)/,
      );
    });

    it('refuses relabelling its own namespace to privileged, or dropping the managed-by label', async () => {
      await sa.apply(managedNamespace('relabel'));
      expect(
        await refusal(
          sa.apply(
            managedNamespace('relabel', {
              'pod-security.kubernetes.io/enforce': 'privileged',
            }),
          ),
        ),
      ).toMatch(/Pod Security labels to restricted/);
      const unmanaged = managedNamespace('relabel');
      delete unmanaged.metadata!.labels!['app.kubernetes.io/managed-by'];
      expect(await refusal(sa.apply(unmanaged))).toMatch(
        /managed-by=storeplane/,
      );
      // A change that keeps the rules is allowed.
      const relabelled = await sa.apply(
        managedNamespace('relabel', { 'storeplane.io/plan': 'large' }),
      );
      expect(relabelled.metadata?.labels?.['storeplane.io/plan']).toBe('large');
    });

    it('refuses to change or delete a store-* namespace it did not create', async () => {
      await admin.apply({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'store-foreign' },
      });
      expect(
        await refusal(sa.delete('v1', 'Namespace', undefined, 'store-foreign')),
      ).toMatch(
        /may only change or delete namespaces that carry app.kubernetes.io\/managed-by=storeplane/,
      );
      expect(await refusal(sa.apply(managedNamespace('foreign')))).toMatch(
        /may only change or delete namespaces that carry/,
      );
      expect(
        await admin.read('v1', 'Namespace', undefined, 'store-foreign'),
      ).toBeDefined();
    });

    it('deletes a namespace it manages', async () => {
      await sa.apply(managedNamespace('doomed'));
      expect(
        await sa.delete('v1', 'Namespace', undefined, 'store-doomed'),
      ).toBe('deleted');
    });

    it('lets Pod Security Admission refuse a privileged pod in a store namespace', async () => {
      await sa.apply(managedNamespace('psa-live'));
      const error = await admin
        .createIfAbsent({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'privileged', namespace: 'store-psa-live' },
          spec: {
            containers: [
              {
                name: 'c',
                image: 'busybox',
                securityContext: { privileged: true },
              },
            ],
          },
        } as KubernetesObject)
        .then(
          () => undefined,
          e => e as { code?: number; body?: string },
        );
      expect(error?.code).toBe(403);
      expect(JSON.parse(String(error?.body)).message).toMatch(
        /violates PodSecurity "restricted:latest"/,
      );
    });
  });

  describe('role bindings', () => {
    beforeAll(async () => {
      await sa.apply(managedNamespace('bind'));
      // A Role with no rules: RBAC's own escalation check lets anyone bind it, so only the
      // admission policy stands between the ServiceAccount and binding it.
      await admin.apply({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'empty', namespace: 'store-bind' },
        rules: [],
      } as KubernetesObject);
      await admin.apply({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'store-unmanaged' },
      });
    });

    it('binds the store-manager role to itself and the installer role to a ServiceAccount of the namespace', async () => {
      await sa.apply(
        binding(
          'store-bind',
          'manager',
          { kind: 'ClusterRole', name: rbac.storeManagerRole },
          [itself()],
        ),
      );
      await sa.apply(
        binding(
          'store-bind',
          'installer',
          { kind: 'ClusterRole', name: rbac.storeInstallerRole },
          [{ kind: 'ServiceAccount', namespace: 'store-bind', name: 'helm' }],
        ),
      );
      expect(
        await admin.list(
          'rbac.authorization.k8s.io/v1',
          'RoleBinding',
          'store-bind',
        ),
      ).toHaveLength(2);
    });

    it('refuses any other role', async () => {
      expect(
        await refusal(
          sa.apply(
            binding(
              'store-bind',
              'other-role',
              { kind: 'Role', name: 'empty' },
              [itself()],
            ),
          ),
        ),
      ).toMatch(/may only bind the ClusterRoles/);
    });

    it('refuses the store-manager role for anyone but itself', async () => {
      expect(
        await refusal(
          sa.apply(
            binding(
              'store-bind',
              'manager-to-store-sa',
              { kind: 'ClusterRole', name: rbac.storeManagerRole },
              [
                {
                  kind: 'ServiceAccount',
                  namespace: 'store-bind',
                  name: 'helm',
                },
              ],
            ),
          ),
        ),
      ).toMatch(/only to its own ServiceAccount/);
    });

    it.each([
      [
        'a ServiceAccount of another namespace',
        { kind: 'ServiceAccount', namespace: 'kube-system', name: 'default' },
      ],
      [
        'a user',
        {
          kind: 'User',
          apiGroup: 'rbac.authorization.k8s.io',
          name: 'mallory',
        },
      ],
      [
        'a group',
        {
          kind: 'Group',
          apiGroup: 'rbac.authorization.k8s.io',
          name: 'system:authenticated',
        },
      ],
    ])('refuses the installer role for %s', async (_, subject) => {
      expect(
        await refusal(
          sa.apply(
            binding(
              'store-bind',
              'installer-elsewhere',
              { kind: 'ClusterRole', name: rbac.storeInstallerRole },
              [subject],
            ),
          ),
        ),
      ).toMatch(/only to ServiceAccounts of the store namespace/);
    });

    it.each([
      ['a store-* namespace it does not manage', 'store-unmanaged'],
      ['a namespace that is not a store', 'default'],
    ])('refuses bindings in %s', async (_, namespace) => {
      expect(
        await refusal(
          sa.apply(
            binding(
              namespace,
              'manager',
              { kind: 'ClusterRole', name: rbac.storeManagerRole },
              [itself()],
            ),
          ),
        ),
      ).toMatch(/may only manage RoleBindings in namespaces named store-/);
    });
  });
});
