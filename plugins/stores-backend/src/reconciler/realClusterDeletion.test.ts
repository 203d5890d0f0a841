/**
 * Deleting stores on a real kube-apiserver when things go wrong: a helm uninstall that hangs, a
 * store namespace that lost Storeplane's rights, and orphaned namespaces (the orphan sweep).
 * Then, on the same control plane, a fleet rollout of 21 stores across a backend crash.
 * Same control plane set-up as realCluster.test.ts, in its own process.
 */
import { mockServices } from '@backstage/backend-test-utils';
import { waitFor } from '@internal/stores-test-utils';
import os from 'node:os';
import request from 'supertest';
import { RolloutRepository } from '../database/RolloutRepository';
import { StoreRecord, StoreRepository } from '../database/StoreRepository';
import { OrphanSweep } from './OrphanSweep';
import { brokenChartRelease } from '../__testUtils__/brokenChartRelease';
import {
  deployedChartVersion,
  helmHistory,
  setSimHelmFaults,
} from '../__testUtils__/realCluster';
import {
  describeWithRealCluster,
  OWNER,
  RealClusterSuite,
  USER,
} from '../__testUtils__/realClusterSuite';
import {
  startRealClusterBackend,
  USER_AUTHORIZATION,
} from '../__testUtils__/realClusterBackend';

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

    describe('a fleet rollout', () => {
      const STORES = 21;
      const LEASE_SECONDS = 10;
      /** What a killed process leaves behind: its leases, until they expire. */
      const DEAD = 'killed-replica';

      /** The shipped policy with ann as administrator; 16 workers; the default health check. */
      const settings = (chartPath?: string) => ({
        permissions: { admins: [USER] },
        healthCheck: { mode: 'serviceProxy' },
        network: {
          healthCheckSourceCidrs: [`${suite.cluster.apiServerSourceIp}/32`],
        },
        reconciler: {
          frequency: { seconds: 1 },
          concurrency: 16,
          lease: { seconds: LEASE_SECONDS },
          maxAttempts: 6,
          initialBackoff: { milliseconds: 500 },
          maxBackoff: { seconds: 2 },
        },
        rollouts: { frequency: { seconds: 1 } },
        helm: {
          timeout: '3m',
          ...(chartPath ? { chart: { path: chartPath } } : {}),
        },
      });

      it('moves 21 stores to a new chart in waves, rolls back the one whose health gate fails, halts, and loses nothing when the backend is killed mid-rollout', async () => {
        const started = Date.now();
        const knex = await suite.database();
        const stores = new StoreRepository(knex);
        const rollouts = new RolloutRepository(knex);
        const api = (
          server: Parameters<typeof request>[0],
          method: 'get' | 'post',
          url: string,
        ) =>
          request(server)
            [method](`/api/stores${url}`)
            .set('Authorization', USER_AUTHORIZATION);
        const allStores = async () =>
          (await knex('stores').select('id')).map(r => r.id as string);
        const everyStore = async () =>
          Promise.all(
            (await allStores()).map(
              async id => (await stores.getStore(id)) as StoreRecord,
            ),
          );

        // Chart 0.1.0 (the bundled chart) on 21 stores, 16 at a time.
        const shipping010 = await startRealClusterBackend(suite, [], {
          knex,
          storeplane: settings(),
        });
        const ids: string[] = [];
        try {
          for (let i = 1; i <= STORES; i++) {
            const created = await api(
              shipping010.server,
              'post',
              '/stores',
            ).send({
              name: `fleet-${String(i).padStart(2, '0')}`,
              owner: OWNER,
              plan: 'small',
            });
            expect(created.status).toBe(201);
            ids.push(created.body.id);
          }
          await waitFor(
            'every store to settle on chart 0.1.0',
            async () => {
              const all = await everyStore();
              const failed = all.find(s => s.status === 'Failed');
              if (failed) throw new Error(`${failed.id}: ${failed.lastError}`);
              return all.every(s => s.status === 'Ready') ? all : undefined;
            },
            300_000,
          );
        } finally {
          await shipping010.stop();
        }
        const provisionedMs = Date.now() - started;
        for (const store of await everyStore()) {
          expect(store).toMatchObject({
            chartVersion: '0.1.0',
            helmRevision: 1,
          });
        }

        // The last store of the last wave (the order the rollout takes) fails its health gate
        // on chart 0.2.0.
        const order = await rollouts.listCandidates('woocommerce', '0.2.0');
        expect(order.map(c => c.id).sort()).toEqual([...ids].sort());
        const failing = (await stores.getStore(order.at(-1)!.id))!;
        const chartPath = brokenChartRelease(failing.namespace);

        // A backend that ships chart 0.2.0: an administrator starts the rollout through the API.
        const rolloutStarted = Date.now();
        const first = await startRealClusterBackend(suite, [], {
          knex,
          storeplane: settings(chartPath),
        });
        let rolloutId: string;
        try {
          const created = await api(first.server, 'post', '/rollouts').send({
            targetChartVersion: '0.2.0',
            waveSize: 5,
            pauseSeconds: 1,
            maxFailures: 1,
          });
          expect(created.status).toBe(202);
          expect(created.body).toMatchObject({
            status: 'Pending',
            targetChartVersion: '0.2.0',
            waveCount: 5,
            createdBy: USER,
          });
          rolloutId = created.body.id;
          // Killed once the canary passed and wave 2's upgrades are under way.
          await waitFor(
            'the canary to pass and wave 2 to start',
            async () => {
              const rollout = (await rollouts.getRollout(rolloutId))!;
              if (['Halted', 'Aborted'].includes(rollout.status))
                throw new Error(
                  `rollout ${rollout.status}: ${rollout.haltReason}`,
                );
              return rollout.currentWave >= 2 ? rollout : undefined;
            },
            180_000,
          );
        } finally {
          await first.stop();
        }
        const killedAt = Date.now();
        const itemsAtKill = await rollouts.listItems(rolloutId);
        expect(itemsAtKill.find(item => item.wave === 1)!.result).toBe(
          'succeeded',
        );
        expect(itemsAtKill.filter(item => item.wave >= 3)).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ result: 'pending' }),
          ]),
        );
        // The leases a crash leaves: on the rollout, and on the wave's stores it was working on.
        const deadRollout = await waitFor(
          "the dead runtime's lease on the rollout",
          async () =>
            rollouts.claimRollout(
              rolloutId,
              `${DEAD}/rollout`,
              LEASE_SECONDS * 1000,
            ),
          10_000,
        );
        expect(deadRollout.currentWave).toBe(2);
        // A store is claimed when its next look is due (the wave's stores wait for their Helm
        // Jobs, looked at every few seconds).
        const deadStoreLeases = new Set<string>();
        const upgradingAtKill = itemsAtKill.filter(
          i => i.result === 'upgrading',
        );
        expect(upgradingAtKill.length).toBeGreaterThan(0);
        for (
          const until = Date.now() + 15_000;
          Date.now() < until && deadStoreLeases.size < upgradingAtKill.length;
          await new Promise(resolve => setTimeout(resolve, 250))
        ) {
          for (const item of upgradingAtKill) {
            if (deadStoreLeases.has(item.storeId)) continue;
            const store = (await stores.getStore(item.storeId))!;
            const claimed = await stores.claimStore(
              { id: store.id, generation: store.generation },
              `${DEAD}/${store.id}`,
              LEASE_SECONDS * 1000,
            );
            if (claimed) deadStoreLeases.add(store.id);
          }
        }
        expect(deadStoreLeases.size).toBeGreaterThan(0);

        // A new backend on the same database and cluster carries on once the leases expire.
        const second = await startRealClusterBackend(suite, [], {
          knex,
          storeplane: settings(chartPath),
        });
        try {
          const halted = await waitFor(
            'the rollout to halt',
            async () => {
              const rollout = (await rollouts.getRollout(rolloutId))!;
              if (['Succeeded', 'Aborted'].includes(rollout.status))
                throw new Error(`rollout ${rollout.status}`);
              return rollout.status === 'Halted' ? rollout : undefined;
            },
            300_000,
          ).catch(async error => {
            const { body } = await api(
              second.server,
              'get',
              `/rollouts/${rolloutId}`,
            );
            throw new Error(
              `${error.message}: ${JSON.stringify(body, null, 1)}`,
            );
          });
          const haltedMs = Date.now() - rolloutStarted;
          expect(halted.currentWave).toBe(5);
          expect(halted.haltReason).toContain(`${failing.id}: `);

          const { body: details } = await api(
            second.server,
            'get',
            `/rollouts/${rolloutId}`,
          );
          expect(details.rollout).toMatchObject({
            status: 'Halted',
            waveCount: 5,
          });
          // Every store once, in its wave: the canary, then waves of 5.
          expect(details.stores.map((s: any) => s.storeId).sort()).toEqual(
            [...ids].sort(),
          );
          expect(details.stores.map((s: any) => s.wave).sort()).toEqual(
            [
              1,
              ...Array.from({ length: 20 }, (_, i) => 2 + Math.floor(i / 5)),
            ].sort(),
          );
          const unexpected = details.stores.filter(
            (item: any) =>
              item.storeId !== failing.id && item.result !== 'succeeded',
          );
          if (unexpected.length > 0) {
            const report = await Promise.all(
              unexpected.map(async (item: any) => {
                const store = (await stores.getStore(item.storeId))!;
                const kubeEvents = await suite.admin.list<any>(
                  'v1',
                  'Event',
                  store.namespace,
                );
                return `${item.storeId} (wave ${item.wave}): ${
                  item.reason
                }\n${kubeEvents
                  .map(
                    e =>
                      `${e.lastTimestamp ?? e.eventTime} ${
                        e.involvedObject.kind
                      }/${e.involvedObject.name} ${e.reason}: ${e.message}`,
                  )
                  .join('\n')}`;
              }),
            );
            throw new Error(
              `Stores that did not move:\n${report.join('\n\n')}`,
            );
          }
          for (const item of details.stores) {
            expect(item).toMatchObject(
              item.storeId === failing.id
                ? { wave: 5, result: 'failed', fromChartVersion: '0.1.0' }
                : {
                    result: 'succeeded',
                    fromChartVersion: '0.1.0',
                    reason: null,
                  },
            );
          }
          // The database and helm's own release records agree, store by store.
          for (const store of await everyStore()) {
            const upgraded = store.id !== failing.id;
            expect(store).toMatchObject({
              status: 'Ready',
              chartVersion: upgraded ? '0.2.0' : '0.1.0',
              helmRevision: upgraded ? 2 : 3,
              generation: 2,
              observedGeneration: 2,
            });
            expect(await helmHistory(suite.admin, store.namespace)).toEqual(
              upgraded
                ? ['v1:superseded', 'v2:deployed']
                : ['v1:superseded', 'v2:superseded', 'v3:deployed'],
            );
            expect(
              await deployedChartVersion(suite.admin, store.namespace),
            ).toBe(upgraded ? '0.2.0' : '0.1.0');
          }
          expect(failing.id).toBe(order.at(-1)!.id);
          const failedStore = (await stores.getStore(failing.id))!;
          expect(failedStore.lastError).toMatch(
            /^The update failed and was rolled back to revision 1 \(chart 0\.1\.0\).*WordPress answered HTTP 500/,
          );
          const storeEvents = await stores.listEvents(failing.id, 50);
          expect(storeEvents).toEqual(
            expect.arrayContaining([
              expect.objectContaining({
                type: 'update.rolledBack',
                level: 'error',
              }),
            ]),
          );

          // The rollout's own events: each store requested once and settled once, every wave
          // started and finished once, the later waves by the new backend.
          const events = (await rollouts.listEvents(rolloutId, 500)).reverse();
          const count = (type: string) =>
            events.filter(e => e.type === type).length;
          expect({
            requested: count('requested'),
            started: count('started'),
            waveStarted: count('wave.started'),
            waveFinished: count('wave.finished'),
            upgrading: count('store.upgrading'),
            succeeded: count('store.succeeded'),
            failed: count('store.failed'),
            skipped: count('store.skipped'),
            halted: count('halted'),
          }).toEqual({
            requested: 1,
            started: 1,
            waveStarted: 5,
            waveFinished: 5,
            upgrading: STORES,
            succeeded: STORES - 1,
            failed: 1,
            skipped: 0,
            halted: 1,
          });
          expect(
            events
              .filter(e => e.type === 'wave.started' && e.createdAt > killedAt)
              .map(e => e.message.slice(0, 11)),
          ).toEqual(['Wave 3 of 5', 'Wave 4 of 5', 'Wave 5 of 5']);
          expect(events.find(e => e.type === 'store.failed')).toMatchObject({
            level: 'error',
            message: expect.stringContaining(failing.id),
          });

          // No lease of the dead runtime is left; nothing is held once the backend is idle.
          for (const store of await everyStore()) {
            expect(store.leaseHolder ?? '').not.toMatch(
              new RegExp(`^${DEAD}/`),
            );
          }
          expect(
            (await rollouts.getRollout(rolloutId))!.leaseHolder ?? '',
          ).not.toMatch(new RegExp(`^${DEAD}/`));

          // Abort ends the halted rollout; a resume is refused after that; no store is touched.
          const generations = (await everyStore()).map(
            s => `${s.id}@${s.generation}`,
          );
          const aborted = await api(
            second.server,
            'post',
            `/rollouts/${rolloutId}/abort`,
          );
          expect(aborted.status).toBe(200);
          expect(aborted.body.status).toBe('Aborted');
          const resumed = await api(
            second.server,
            'post',
            `/rollouts/${rolloutId}/resume`,
          );
          expect(resumed.status).toBe(409);
          await new Promise(resolve => setTimeout(resolve, 3_000));
          expect(
            (await everyStore()).map(s => `${s.id}@${s.generation}`),
          ).toEqual(generations);
          expect((await rollouts.getRollout(rolloutId))!.status).toBe(
            'Aborted',
          );
          expect((await rollouts.listEvents(rolloutId, 1))[0]).toMatchObject({
            type: 'aborted',
            actor: USER,
          });
          // eslint-disable-next-line no-console
          console.log(
            `Fleet rollout of ${STORES} stores: provisioned in ${(
              provisionedMs / 1000
            ).toFixed(1)} s; rollout with a kill after wave ${
              deadRollout.currentWave
            } (${
              deadStoreLeases.size
            } store leases left by the dead runtime) halted in ${(
              haltedMs / 1000
            ).toFixed(1)} s; ${((Date.now() - started) / 1000).toFixed(
              1,
            )} s in all; load average ${os
              .loadavg()
              .map(l => l.toFixed(2))
              .join(' ')}`,
          );
        } finally {
          await second.stop();
        }
      });
    });
  },
);
