/**
 * Deleting stores on a real kube-apiserver when things go wrong: a helm uninstall that hangs, a
 * store namespace that lost Storeplane's rights, and orphaned namespaces (the orphan sweep).
 * Same control plane set-up as realCluster.test.ts, in its own process.
 */
import { mockServices } from '@backstage/backend-test-utils';
import { OrphanSweep } from './OrphanSweep';
import { setSimHelmFaults } from '../__testUtils__/realCluster';
import {
  describeWithRealCluster,
  OWNER,
  RealClusterSuite,
  USER,
} from '../__testUtils__/realClusterSuite';

describeWithRealCluster(
  'deleting stores on a real Kubernetes API server',
  () => {
    jest.setTimeout(15 * 60_000);
    const suite = RealClusterSuite.use();

    it('finishes a deletion whose helm uninstall hangs past the step timeout', async () => {
      const h = await suite.harness({
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
      await setSimHelmFaults(suite.admin, [
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
        const log = await suite.events(h, created.id);
        expect(
          log.find(e => e.type === 'helm.uninstall.skipped')!.message,
        ).toBe(
          "Helm uninstall skipped: it did not finish within 20 s. Deleting the namespace removes the release's objects instead.",
        );
        expect(
          await suite.admin.read(
            'v1',
            'Namespace',
            undefined,
            created.namespace,
          ),
        ).toBeUndefined();
        // eslint-disable-next-line no-console
        console.log(
          `stuck deletion: helm uninstall hung, step timeout 20 s, store gone after ${took.toFixed(
            1,
          )} s`,
        );
      } finally {
        await setSimHelmFaults(suite.admin, []);
      }
    });

    it('re-binds its rights to delete a store whose RoleBinding is gone, and deletes the namespace directly when it can get none', async () => {
      const h = await suite.harness();
      const [rebound, rightless] = await Promise.all(
        ['rebind', 'rightless'].map(name =>
          h.service.createStore({ name, owner: OWNER, plan: 'small' }, USER),
        ),
      );
      for (const store of [rebound, rightless]) {
        expect(
          (await h.runUntil(store.id, s => s?.status === 'Ready', 180))!.status,
        ).toBe('Ready');
        await suite.admin.delete(
          'rbac.authorization.k8s.io/v1',
          'RoleBinding',
          store.namespace,
          'storeplane-store-manager',
        );
      }
      // With its RoleBinding gone, every call inside the namespace is refused (403)...
      const sa = suite.serviceAccountClient();
      await expect(
        sa.list('v1', 'Secret', rebound.namespace),
      ).rejects.toMatchObject({ code: 403 });

      // ...deletion binds the role again and uninstalls the Helm way,
      await h.service.deleteStore(
        (await h.repository.getStore(rebound.id))!,
        USER,
      );
      expect(
        await h.runUntil(rebound.id, s => s === undefined, 120),
      ).toBeUndefined();
      expect((await suite.events(h, rebound.id)).map(e => e.type)).toContain(
        'helm.uninstall.succeeded',
      );

      // ...and when binding gives no rights (the store-manager ClusterRole is missing), it
      // deletes the namespace without helm instead of retrying for ever.
      const role = suite.rbac.objects.find(
        o =>
          o.kind === 'ClusterRole' &&
          o.metadata!.name === suite.rbac.storeManagerRole,
      )!;
      await suite.admin.delete(
        'rbac.authorization.k8s.io/v1',
        'ClusterRole',
        undefined,
        suite.rbac.storeManagerRole,
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
        await suite.admin.apply(role);
      }
      const skipped = (await suite.events(h, rightless.id)).find(
        e => e.type === 'helm.uninstall.skipped',
      );
      expect(skipped!.message).toMatch(
        new RegExp(
          `^Helm uninstall skipped: Storeplane bound ClusterRole ${suite.rbac.storeManagerRole} in ${rightless.namespace} but still has no rights there`,
        ),
      );
      expect(
        await suite.admin.read(
          'v1',
          'Namespace',
          undefined,
          rightless.namespace,
        ),
      ).toBeUndefined();
    });

    it('sweeps orphans on the real API server: a labelled namespace without a store goes, a store whose namespace vanished is marked', async () => {
      const h = await suite.harness();
      const created = await h.service.createStore(
        { name: 'vanish', owner: OWNER, plan: 'small' },
        USER,
      );
      expect(
        (await h.runUntil(created.id, s => s?.status === 'Ready', 180))!.status,
      ).toBe('Ready');
      await suite.admin.apply({
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
      await suite.admin.delete('v1', 'Namespace', undefined, created.namespace);
      await suite.waitForNamespaceGone(created.namespace);

      const sweep = new OrphanSweep({
        repository: h.repository,
        kubernetes: () => suite.serviceAccountClient(),
        logger: mockServices.logger.mock(),
        gracePeriodMs: 0,
        onChange: () => {},
      });
      const result = await sweep.run();
      // The other tests' stores live in other databases, so their namespaces are orphans here too.
      expect(result.deleted).toContain('store-orphan-abcde');
      expect(result.repaired).toEqual([{ id: created.id, status: 'Failed' }]);
      await suite.waitForNamespaceGone('store-orphan-abcde');
      expect((await h.repository.getStore(created.id))!.lastError).toMatch(
        /no longer exists: it was deleted outside Storeplane/,
      );
    });
  },
);
