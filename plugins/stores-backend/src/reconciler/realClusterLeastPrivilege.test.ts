/**
 * Least privilege on a real kube-apiserver: every permission the chart grants Storeplane is
 * removed in turn, and the operation that needs it is refused and says so. Same control plane
 * set-up as realCluster.test.ts, in its own process (these tests change the ClusterRoles).
 */
import { mockServices } from '@backstage/backend-test-utils';
import { CoreV1Api, KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { gunzipSync } from 'node:zlib';
import request from 'supertest';
import { OrphanSweep } from './OrphanSweep';
import { BACKUPS_PVC } from '../kubernetes/backupResources';
import { BACKUP_READER_POD } from '../kubernetes/backupReader';
import { StoreWatches, WaitedOn } from './StoreWatches';
import { waitFor } from '@internal/stores-test-utils';
import { Harness } from '../__testUtils__/harness';
import { readRbacRules, setSimHelmFaults } from '../__testUtils__/realCluster';
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

describeWithRealCluster('Storeplane on a real Kubernetes API server', () => {
  jest.setTimeout(15 * 60_000);
  const suite = RealClusterSuite.use();

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
    const usedOnlyByDownloads = new Set([
      'pods:get',
      'pods:create',
      'pods:delete',
      'pods/proxy:get',
    ]);
    const usedOnlyByDeletion = new Set(['namespaces:delete']);
    const usedOnlyByHelmUninstall = new Set([
      'jobs:delete',
      'serviceaccounts:get',
    ]);
    const usedOnlyToClearAnInterruptedHelm = new Set(['secrets:delete']);
    const usedOnlyByTheOrphanSweep = new Set(['namespaces:list']);
    // The reconciler's watches, in the controller role (namespaces:list serves both them and
    // the orphan sweep).
    const usedByTheWatches = new Set([
      'namespaces:list',
      'namespaces:watch',
      'jobs:list',
      'jobs:watch',
      'deployments:list',
      'deployments:watch',
      'statefulsets:list',
      'statefulsets:watch',
    ]);
    const usedOnlyByTheWorkloadsRoute = new Set([
      'persistentvolumeclaims:list',
    ]);
    const usedOnlyByBackups = new Set(['persistentvolumeclaims:create']);
    const usedOnlyByChecksOfReadyStores = new Set([
      'resourcequotas:get',
      'limitranges:get',
      'networkpolicies:get',
      'rolebindings:get',
    ]);
    const special = new Set([
      ...usedOnlyByDownloads,
      ...usedOnlyByBackups,
      ...usedOnlyByTheWorkloadsRoute,
      ...usedOnlyByChecksOfReadyStores,
      ...usedOnlyByDeletion,
      ...usedOnlyByHelmUninstall,
      ...usedOnlyToClearAnInterruptedHelm,
      ...usedOnlyByTheOrphanSweep,
    ]);

    function roleWithout(removed: Grant[]): KubernetesObject {
      const [grant] = removed;
      const name =
        grant.role === 'controller'
          ? suite.rbac.controllerRole
          : suite.rbac.storeManagerRole;
      const rendered = suite.rbac.objects.find(
        o => o.kind === 'ClusterRole' && o.metadata!.name === name,
      ) as any;
      const reduced = rendered.rules
        .flatMap((rule: any) =>
          rule.resources.map((resource: string) => ({
            ...rule,
            resources: [resource],
            verbs: rule.verbs.filter(
              (verb: string) =>
                !removed.some(
                  g =>
                    g.resource === resource &&
                    g.apiGroup === rule.apiGroups[0] &&
                    g.verb === verb,
                ),
            ),
          })),
        )
        .filter((rule: any) => rule.verbs.length > 0);
      return { ...rendered, rules: reduced };
    }

    async function withGrantRemoved<T>(
      grant: Grant,
      fn: () => Promise<T>,
      also: Grant[] = [],
    ): Promise<T> {
      const name =
        grant.role === 'controller'
          ? suite.rbac.controllerRole
          : suite.rbac.storeManagerRole;
      const original = suite.rbac.objects.find(
        o => o.kind === 'ClusterRole' && o.metadata!.name === name,
      )!;
      await suite.admin.apply(roleWithout([grant, ...also]));
      await new Promise(resolve => setTimeout(resolve, 1000));
      try {
        return await fn();
      } finally {
        await suite.admin.apply(original);
        await new Promise(resolve => setTimeout(resolve, 1000));
      }
    }

    const refused = /\(403\)|forbidden|has no rights there/i;

    const label = (g: Grant) =>
      [`${g.role}: ${g.verb} ${g.resource}`, g] as const;
    const key = (g: Grant) => `${g.resource}:${g.verb}`;
    const isWatchGrant = (g: Grant) =>
      g.role === 'controller' && usedByTheWatches.has(key(g));

    it.each(
      exercised
        .filter(g => !special.has(key(g)) && !isWatchGrant(g))
        .map(label),
    )(
      'without %s provisioning is refused and the store says so in plain words',
      async (_, grant) => {
        const h = await suite.harness();
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
        const h = await suite.harness();
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
        const h = await suite.harness();
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
        const skipped = (await suite.events(h, created.id)).find(
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
        const h = await suite.harness();
        await setSimHelmFaults(suite.admin, [
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
          await setSimHelmFaults(suite.admin, []);
        }
      },
    );

    describe('on one Ready store', () => {
      let h: Harness;
      let storeId: string;
      beforeAll(async () => {
        h = await suite.harness({ monitor: { interval: { seconds: 2 } } });
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

      /** Runs the loop until the backup is Succeeded or Failed. */
      async function backupOutcome(id: string) {
        for (let pass = 0; pass < 60; pass++) {
          const backup = await h.backups.getBackup(storeId, id);
          if (backup?.status === 'Succeeded' || backup?.status === 'Failed')
            return backup;
          await new Promise(resolve => setTimeout(resolve, 1000));
          await h.loop.runOnce();
        }
        throw new Error(`backup ${id} did not finish`);
      }

      const requestBackup = (id: string) =>
        h.backups.requestBackup({
          id,
          storeId,
          requestedBy: USER,
          file: `/backups/${id}.sql.gz`,
        });

      it.each(exercised.filter(g => usedOnlyByBackups.has(key(g))).map(label))(
        'without %s a backup is refused, saying so; with it the backup Job is admitted and runs',
        async (_, grant) => {
          const refusedBackup = await withGrantRemoved(grant, async () => {
            await requestBackup('rbac-b1');
            return backupOutcome('rbac-b1');
          });
          expect(refusedBackup.message).toMatch(refused);
          expect((await h.repository.getStore(storeId))!.status).toBe('Ready');

          // The real API server admits the backups volume and the Job (restricted Pod
          // Security, the namespace quota and LimitRange), and the kubelet stand-in runs its
          // mariadb-dump against the cluster's throwaway MariaDB.
          await requestBackup('rbac-b2');
          const ran = await backupOutcome('rbac-b2');
          expect(ran).toMatchObject({ status: 'Succeeded', message: null });
          expect(ran.sizeBytes).toBeGreaterThan(0);
          const store = (await h.repository.getStore(storeId))!;
          const pvc = await suite.admin.read<any>(
            'v1',
            'PersistentVolumeClaim',
            store.namespace,
            BACKUPS_PVC,
          );
          expect(pvc.spec.resources.requests.storage).toBeDefined();
          const job = await suite.admin.read<any>(
            'batch/v1',
            'Job',
            store.namespace,
            'backup-rbac-b2',
          );
          expect(
            job.status.conditions.find((c: any) => c.type === 'Complete')
              ?.status,
          ).toBe('True');
          expect(store.status).toBe('Ready');
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

    describe('backup downloads, through the API of a running backend', () => {
      let backend: Awaited<ReturnType<typeof startRealClusterBackend>>;
      let storeId: string;
      let namespace: string;
      let backupId: string;
      const api = (method: 'get' | 'post', url: string) =>
        request(backend.server)
          [method](`/api/stores${url}`)
          .set('Authorization', USER_AUTHORIZATION);
      const download = () =>
        api('get', `/stores/${storeId}/backups/${backupId}/download`)
          .buffer(true)
          .parse((res, done) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => done(null, Buffer.concat(chunks)));
          });
      const readReader = () =>
        suite.admin.read<V1Pod>('v1', 'Pod', namespace, BACKUP_READER_POD);

      beforeAll(async () => {
        // The store's NetworkPolicy admits the API server's pod proxy to the reader from here.
        backend = await startRealClusterBackend(suite, [], {
          storeplane: {
            network: {
              healthCheckSourceCidrs: [`${suite.cluster.apiServerSourceIp}/32`],
            },
          },
        });
        const created = await api('post', '/stores').send({
          name: 'rbac-download',
          owner: OWNER,
          plan: 'small',
        });
        ({ id: storeId, namespace } = created.body);
        await waitFor(
          'the store to be Ready',
          async () =>
            (await api('get', `/stores/${storeId}`)).body.status === 'Ready' ||
            undefined,
          180_000,
        );
        backupId = (await api('post', `/stores/${storeId}/backups`)).body.id;
        await waitFor(
          'the backup to succeed',
          async () =>
            (
              await api('get', `/stores/${storeId}/backups`)
            ).body.items.find(
              (b: { id: string; status: string }) =>
                b.id === backupId && b.status === 'Succeeded',
            ),
          120_000,
        );
      });
      afterAll(() => backend?.stop());

      /** Puts the reader pod in the state in which the download needs `grant`. */
      async function prepareFor(grant: Grant) {
        if (key(grant) === 'pods:create') {
          // No reader pod yet: the download creates it.
          if (await readReader()) {
            await suite.admin.delete('v1', 'Pod', namespace, BACKUP_READER_POD);
            await waitFor(
              'the reader pod to be gone',
              async () => ((await readReader()) ? undefined : true),
              60_000,
            );
          }
          return;
        }
        // A running reader (pods/proxy) or one whose lifetime ran out (pods delete: the
        // download replaces it), as the kubelet marks it at its activeDeadlineSeconds.
        expect((await download()).status).toBe(200);
        if (key(grant) === 'pods:delete') {
          const core = suite.admin.kubeConfig.makeApiClient(CoreV1Api);
          const pod = await core.readNamespacedPodStatus({
            name: BACKUP_READER_POD,
            namespace,
          });
          pod.status = {
            ...pod.status,
            phase: 'Failed',
            reason: 'DeadlineExceeded',
          };
          await core.replaceNamespacedPodStatus({
            name: BACKUP_READER_POD,
            namespace,
            body: pod,
          });
        }
      }

      it.each(
        exercised.filter(g => usedOnlyByDownloads.has(key(g))).map(label),
      )(
        'without %s a download is refused, saying so; with it the dump arrives',
        async (_, grant) => {
          await prepareFor(grant);
          const refusedDownload = await withGrantRemoved(grant, download);
          expect(refusedDownload.status).toBe(503);
          const { message } = JSON.parse(refusedDownload.body.toString()).error;
          expect(message).toMatch(refused);
          expect(message).toMatch(/storeplane-rbac/);

          const downloaded = await download();
          expect(downloaded.status).toBe(200);
          expect(gunzipSync(downloaded.body as Buffer).toString()).toContain(
            `('marker','${namespace}')`,
          );
          expect((await readReader())?.status?.phase).toBe('Running');
        },
      );
    });

    describe('the watches', () => {
      const watchGrants = exercised.filter(isWatchGrant);
      const waitedOn: Record<string, WaitedOn> = {
        namespaces: 'namespaces',
        jobs: 'jobs',
        deployments: 'workloads',
        statefulsets: 'workloads',
      };
      const startWatches = (h: Harness) => {
        const watches = h.watches!;
        watches.start();
        return watches;
      };
      const allHeld = (watches: StoreWatches) =>
        Object.values(watches.held()).every(Boolean) || undefined;

      it('cover every list and watch the chart grants', () => {
        expect(watchGrants.map(key).sort()).toEqual(
          [...usedByTheWatches].sort(),
        );
      });

      it.each(watchGrants.map(label))(
        'without %s that watch is refused, says so, and its waiting stores poll',
        async (_, grant) => {
          const h = await suite.harness();
          await withGrantRemoved(grant, async () => {
            const watches = startWatches(h);
            try {
              await waitFor('the other watches and the refusal', async () => {
                const held = watches.held();
                const othersHeld = Object.entries(held).every(
                  ([resource, isHeld]) =>
                    isHeld === (resource !== grant.resource),
                );
                const refusal = h.logs.find(line =>
                  line.startsWith(
                    `Cannot watch ${grant.resource}: the API server refused it (403)`,
                  ),
                );
                return othersHeld && refusal ? true : undefined;
              });
              expect(watches.requeueMs(waitedOn[grant.resource], 3000)).toBe(
                3000,
              );
            } finally {
              watches.stop();
            }
          });
        },
      );

      it('without any of them a store is polled to Ready; with them its watches wake it', async () => {
        const [first, ...rest] = watchGrants;
        const polled = await suite.harness();
        await withGrantRemoved(
          first,
          async () => {
            const watches = startWatches(polled);
            try {
              await waitFor('every watch refused', async () =>
                Object.keys(watches.held()).every(resource =>
                  polled.logs.some(line =>
                    line.startsWith(`Cannot watch ${resource}:`),
                  ),
                )
                  ? true
                  : undefined,
              );
              const created = await polled.service.createStore(
                { name: 'rbac-watch-off', owner: OWNER, plan: 'small' },
                USER,
              );
              expect(
                await polled.runUntil(
                  created.id,
                  s => s?.status === 'Ready' || s?.status === 'Failed',
                  60,
                ),
              ).toMatchObject({ status: 'Ready' });
            } finally {
              watches.stop();
            }
          },
          rest,
        );

        // A resync far beyond the passes: only the watches can bring the store on in time.
        const watched = await suite.harness({
          reconciler: {
            maxAttempts: 10,
            initialBackoff: { milliseconds: 500 },
            maxBackoff: { seconds: 2 },
            stepTimeout: { minutes: 5 },
            watch: { resync: { minutes: 10 } },
          },
        });
        const watches = startWatches(watched);
        try {
          await waitFor('every watch held', async () => allHeld(watches));
          const created = await watched.service.createStore(
            { name: 'rbac-watch-on', owner: OWNER, plan: 'small' },
            USER,
          );
          const ready = await watched.runUntil(
            created.id,
            s => s?.status === 'Ready' || s?.status === 'Failed',
            60,
          );
          expect(ready).toMatchObject({ status: 'Ready' });
          expect(
            watched.logs.filter(line =>
              line.startsWith(`Store ${created.id}: waiting for`),
            ).length,
          ).toBeGreaterThan(0);
        } finally {
          watches.stop();
        }
      });
    });

    it.each(
      exercised.filter(g => usedOnlyByTheOrphanSweep.has(key(g))).map(label),
    )('without %s the orphan sweep is refused', async (_, grant) => {
      const h = await suite.harness();
      const sweep = new OrphanSweep({
        repository: h.repository,
        kubernetes: () => suite.serviceAccountClient(),
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
