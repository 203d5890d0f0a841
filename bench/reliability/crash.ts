import { setSimHelmFaults } from '../../plugins/stores-backend/src/__testUtils__/realCluster';
import { BackendProcess } from './BackendProcess';
import {
  backendConfig,
  BenchEnvironment,
  createStoreViaApi,
  deleteStoreViaApi,
  freePort,
  storeNamespaces,
  storesDatabase,
  waitFor,
} from './environment';
import { Interception, KubeProxy, ProxiedRequest } from './KubeProxy';
import { Figure, HelmActivity } from './report';

type Match = Omit<Interception, 'onHit'>;

interface CrashPoint {
  name: string;
  /** Provisioning points are armed at create; deletion points once deletion was asked for. */
  phase: 'provisioning' | 'deletion';
  match?: (request: ProxiedRequest, namespace: string) => Match | undefined;
  /** The point is the health check reaching WordPress (the stand-in), not an API call. */
  duringHealthCheck?: boolean;
  /** Helm runs this long first, so the reconciler finds the Job running. */
  slowHelmSeconds?: number;
}

const when = (ok: boolean, match: Match): Match | undefined =>
  ok ? match : undefined;

/** Where the backend is killed: after each step's write, in each wait, during deletion. */
export const CRASH_POINTS: CrashPoint[] = [
  {
    name: 'guardrails: right after the namespace was created',
    phase: 'provisioning',
    match: (r, ns) =>
      when(r.method === 'PATCH' && r.path === `/api/v1/namespaces/${ns}`, {
        when: 'after',
      }),
  },
  {
    name: 'after the guardrails step was written, before the secret step',
    phase: 'provisioning',
    match: (r, ns) =>
      when(
        r.method === 'GET' &&
          r.path === `/api/v1/namespaces/${ns}/secrets/storeplane-credentials`,
        { when: 'before' },
      ),
  },
  {
    name: 'secret: right after the credentials Secret was created',
    phase: 'provisioning',
    match: (r, ns) =>
      when(
        r.method === 'POST' && r.path === `/api/v1/namespaces/${ns}/secrets`,
        { when: 'after' },
      ),
  },
  {
    name: 'helm install: right after the Job was created',
    phase: 'provisioning',
    match: (r, ns) =>
      when(
        r.method === 'POST' &&
          r.path === `/apis/batch/v1/namespaces/${ns}/jobs`,
        { when: 'after' },
      ),
  },
  {
    name: 'helm install: waiting on the running Job',
    phase: 'provisioning',
    slowHelmSeconds: 20,
    match: (r, ns) =>
      when(
        r.method === 'GET' &&
          r.path.startsWith(
            `/apis/batch/v1/namespaces/${ns}/jobs/helm-install-`,
          ),
        {
          when: 'after',
          answer: (status, body) =>
            status === 200 && !/"type":"(Complete|Failed)"/.test(body),
        },
      ),
  },
  {
    name: 'after the helm install step was written, before the workloads gate',
    phase: 'provisioning',
    match: (r, ns) =>
      when(
        r.method === 'GET' &&
          r.path === `/apis/apps/v1/namespaces/${ns}/deployments`,
        { when: 'before' },
      ),
  },
  {
    name: 'health: while the WordPress health check is in flight',
    phase: 'provisioning',
    duringHealthCheck: true,
  },
  {
    name: 'deletion: right after the helm uninstall Job was created',
    phase: 'deletion',
    match: (r, ns) =>
      when(
        r.method === 'POST' &&
          r.path === `/apis/batch/v1/namespaces/${ns}/jobs` &&
          r.body.includes('"helm-uninstall-'),
        { when: 'after' },
      ),
  },
  {
    name: 'deletion: right after the namespace delete was sent',
    phase: 'deletion',
    match: (r, ns) =>
      when(r.method === 'DELETE' && r.path === `/api/v1/namespaces/${ns}`, {
        when: 'after',
      }),
  },
  {
    name: 'deletion: namespace gone, store row not yet removed',
    phase: 'deletion',
    match: (r, ns) =>
      when(r.method === 'GET' && r.path === `/api/v1/namespaces/${ns}`, {
        when: 'after',
        answer: status => status === 404,
      }),
  },
];

interface Target {
  point: CrashPoint;
  pointIndex: number;
  id: string;
  namespace: string;
  armed: boolean;
  fired: boolean;
  missed: boolean;
  deleteRequested: boolean;
}

const PREFIX = 'store-cp';

/**
 * Kills a real backend process with SIGKILL at each crash point, restarts it, and checks that
 * every store still ends Ready or gone, with no orphan namespace, never two Helm Jobs of a
 * store at once, and one Helm revision per store.
 */
export async function crashScenario(
  env: BenchEnvironment,
  options: { storesPerPoint: number },
  helm: HelmActivity,
): Promise<Figure> {
  const started = Date.now();
  const databasePrefix = `rel_crash_${Date.now().toString(36)}_`;
  const proxy = new KubeProxy(env.cluster.server, env.ca);
  const proxyUrl = await proxy.start();
  const port = await freePort();
  const configFile = `${env.workDir}/crash.json`;
  BackendProcess.writeConfig(
    configFile,
    backendConfig(env, { port, databasePrefix, kubeUrl: proxyUrl }),
  );
  const backend = new BackendProcess('crash', port, configFile);
  const targets: Target[] = [];
  const kills: string[] = [];

  await setSimHelmFaults(
    env.admin,
    CRASH_POINTS.flatMap((point, i) =>
      point.slowHelmSeconds
        ? [
            {
              namespacePrefix: `${PREFIX}${i}`,
              argsContain: 'upgrade',
              delaySeconds: point.slowHelmSeconds,
            },
          ]
        : [],
    ),
  );

  // Like a Deployment's pod: once killed, the backend is started again at once.
  const startErrors: unknown[] = [];
  const restart = () =>
    backend.start().catch(error => void startErrors.push(error));
  // A point fires only when its own request kills a running backend.
  const fire = async (target: Target) => {
    if (!target.armed || !backend.running) return false;
    target.armed = false;
    target.fired = true;
    kills.push(target.point.name);
    await backend.kill();
    void restart();
    return true;
  };
  proxy.intercept = request => {
    for (const target of targets) {
      if (!target.armed || !target.point.match) continue;
      const match = target.point.match(request, target.namespace);
      if (match)
        return { ...match, onHit: async () => void (await fire(target)) };
    }
    return undefined;
  };
  env.health.onRequest = async namespace => {
    const target = targets.find(
      t => t.armed && t.point.duringHealthCheck && t.namespace === namespace,
    );
    return target ? fire(target) : false;
  };

  const addTarget = async (pointIndex: number, attempt: number) => {
    const store = await createStoreViaApi(
      backend.baseUrl,
      `cp${pointIndex}x${attempt}`,
    );
    targets.push({
      point: CRASH_POINTS[pointIndex],
      pointIndex,
      id: store.id,
      namespace: store.namespace,
      armed: CRASH_POINTS[pointIndex].phase === 'provisioning',
      fired: false,
      missed: false,
      deleteRequested: false,
    });
  };

  await backend.start();
  const db = storesDatabase(env, databasePrefix);
  try {
    for (let copy = 0; copy < options.storesPerPoint; copy++) {
      for (let i = 0; i < CRASH_POINTS.length; i++) await addTarget(i, copy);
    }
    const retriesLeft = new Map(CRASH_POINTS.map((_, i) => [i, 2]));
    const statusOf = async () =>
      new Map(
        (await db('stores').select('id', 'status')).map(row => [
          row.id as string,
          row.status as string,
        ]),
      );

    await waitFor('every crash point to fire', 15 * 60_000, async () => {
      if (startErrors.length) throw startErrors[0];
      const statuses = await statusOf();
      for (const target of [...targets]) {
        const status = statuses.get(target.id);
        const deletion = target.point.phase === 'deletion';
        if (deletion && status === 'Ready' && !target.deleteRequested) {
          await deleteStoreViaApi(backend.baseUrl, target.id);
          target.deleteRequested = true;
          target.armed = !target.fired;
        }
        const passed = deletion ? status === undefined : status === 'Ready';
        if (passed && target.armed && !target.fired && !target.missed) {
          // The store went past its point without the kill (e.g. the Job finished between
          // two looks): try the point again on a new store.
          target.missed = true;
          target.armed = false;
          const left = retriesLeft.get(target.pointIndex)!;
          if (left > 0) {
            retriesLeft.set(target.pointIndex, left - 1);
            await addTarget(target.pointIndex, 10 + left);
          }
        }
      }
      // A deletion point is armed only once its store is Ready and its delete was sent.
      const waiting = targets.some(
        t => t.armed || (t.point.phase === 'deletion' && !t.deleteRequested),
      );
      return waiting ? undefined : true;
    });

    // Deletion stores go; the rest end Ready.
    const unfinished = async () => {
      const statuses = await statusOf();
      return targets.filter(t =>
        t.point.phase === 'deletion'
          ? statuses.has(t.id)
          : statuses.get(t.id) !== 'Ready',
      );
    };
    try {
      await waitFor(
        'every store to end Ready or gone',
        10 * 60_000,
        async () => {
          if (startErrors.length) throw startErrors[0];
          return (await unfinished()).length === 0 ? true : undefined;
        },
      );
    } catch (error) {
      for (const target of await unfinished()) {
        const row = await db('stores').where({ id: target.id }).first();
        const events = await db('store_events')
          .where({ store_id: target.id })
          .orderBy('id', 'desc')
          .limit(8);
        console.error(
          `unfinished ${target.id} (${target.point.name}): ${JSON.stringify(
            row,
          )}\n${events
            .reverse()
            .map(e => `    ${e.type}: ${e.message}`)
            .join('\n')}`,
        );
      }
      console.error(backend.logTail.slice(-60).join('\n'));
      throw error;
    }
    await backend.stop();

    const statuses = await statusOf();
    const rows = new Set(
      (await db('stores').select('namespace')).map(r => r.namespace as string),
    );
    const orphans = (await storeNamespaces(env, PREFIX)).filter(
      ns => !rows.has(ns),
    );
    const ours = (ns: string) => ns.startsWith(PREFIX);
    const twoJobs = [...helm.mostJobsAtOnce].filter(
      ([ns, most]) => ours(ns) && most > 1,
    );
    const highestRevision = Math.max(
      0,
      ...[...helm.highestRevision].filter(([ns]) => ours(ns)).map(([, r]) => r),
    );
    const firedPoints = new Set(targets.filter(t => t.fired).map(t => t.point));
    const readyOrGone = targets.filter(t =>
      t.point.phase === 'deletion'
        ? !statuses.has(t.id)
        : statuses.get(t.id) === 'Ready',
    ).length;
    const violations = [
      ...(firedPoints.size < 8
        ? [`only ${firedPoints.size} distinct crash points fired (need ≥ 8)`]
        : []),
      ...(readyOrGone < targets.length
        ? [`${targets.length - readyOrGone} stores neither Ready nor gone`]
        : []),
      ...orphans.map(ns => `orphan namespace ${ns}`),
      ...twoJobs.map(([ns, n]) => `${ns} had ${n} Helm Jobs at once`),
      ...(highestRevision > 1
        ? [`a store reached Helm revision ${highestRevision}`]
        : []),
    ];
    return {
      name: 'crash',
      line: `crash points: ${firedPoints.size} of ${
        CRASH_POINTS.length
      } fired (SIGKILL of the backend process: ${backend.kills}, restarts: ${
        backend.starts - 1
      }), stores: ${
        targets.length
      }, ready or gone: ${readyOrGone}, orphan namespaces: ${
        orphans.length
      }, stores with two Helm Jobs at once: ${
        twoJobs.length
      }, highest Helm revision: ${highestRevision}, took ${Math.round(
        (Date.now() - started) / 1000,
      )} s`,
      details: CRASH_POINTS.map(
        p => `  ${kills.filter(k => k === p.name).length} × ${p.name}`,
      ),
      violations,
    };
  } finally {
    await backend.kill();
    await db.destroy();
    await proxy.close();
    env.health.onRequest = undefined;
    await setSimHelmFaults(env.admin, []);
  }
}
