import { KubernetesObject } from '@kubernetes/client-node';
import { StorePlan, StoreStep } from '@storeplane/plugin-stores-common';
import { stringify } from 'yaml';
import { StoresConfig } from '../config/readStoresConfig';
import { EngineStoreInput, StoreEngine } from '../engines/types';
import { httpStatusOf, KubernetesClient } from '../kubernetes/KubernetesClient';
import {
  chartConfigMapManifest,
  credentialsSecretManifest,
  CREDENTIALS_SECRET,
  helmServiceAccountManifest,
  HELM_SERVICE_ACCOUNT,
  installerRoleBindingManifest,
  limitRangeManifest,
  managerRoleBindingManifest,
  namespaceManifest,
  networkPolicyManifests,
  resourceQuotaManifest,
  valuesConfigMapManifest,
} from '../kubernetes/storeResources';
import { NewStoreEvent, StoreRecord } from '../database/StoreRepository';
import { classifyFault, StoreFault } from './faults';
import type { WaitedOn } from './StoreWatches';
import {
  clearInterruptedRelease,
  deployedRelease,
  discardHelmJob,
  ensureHelmJob,
} from './helmJobs';
import { ResourceBudget } from '../engines/types';

export interface StepContext {
  store: StoreRecord;
  plan: StorePlan;
  /**
   * While Updating: the plan the running release was sized for. The guardrails admit both
   * plans until the update ends, and a rollback returns to this one.
   */
  appliedPlan?: StorePlan;
  engine: StoreEngine;
  engineInput: EngineStoreInput;
  /** Writes are fenced by the claim's lease. */
  kube: KubernetesClient;
  config: StoresConfig;
  bundledChart: () => Promise<{ archiveBase64: string }>;
  /** How long the current step has been running, on the database's clock. */
  stepElapsedMs: number;
  /** Records an event at once (for what a step did on its way). */
  record(event: NewStoreEvent): Promise<void>;
  /** How soon to look again while waiting on `on`: rarely when a watch will say, else `pollMs`. */
  requeueMs(on: WaitedOn, pollMs: number): number;
}

/** What a step did: moved the store on, or is waiting on the cluster and wants another look. */
export type StepOutcome =
  | {
      type: 'advance';
      next: StoreStep | 'ready' | 'deleted';
      event: NewStoreEvent;
      /** With `ready`: the release that passed every gate. */
      release?: { revision: number; chartVersion: string | null };
      /** With `ready` after a rollback: the plan returned to and what went wrong. */
      rolledBack?: { plan: string; problem: string };
    }
  | {
      type: 'wait';
      requeueMs: number;
      waitingFor: string;
      /** Shown as the store's last error while it waits (e.g. a namespace stuck Terminating). */
      problem?: string;
    };

type Advance = Extract<StepOutcome, { type: 'advance' }>;

const advance = (
  next: StoreStep | 'ready' | 'deleted',
  message: string,
  type: string,
  level: NewStoreEvent['level'] = 'info',
): Advance => ({
  type: 'advance',
  next,
  event: { type, level, message },
});

type Wait = Extract<StepOutcome, { type: 'wait' }>;

const wait = (waitingFor: string, requeueMs = 3000): Wait => ({
  type: 'wait',
  requeueMs,
  waitingFor,
});

export const describeDuration = (ms: number) =>
  ms >= 60_000
    ? `${Math.round(ms / 60_000)} minutes`
    : `${Math.round(ms / 1000)} s`;

/**
 * How long a new RoleBinding may take to reach the API server's authorizer: usually a few
 * milliseconds (its informer's watch), seconds on a loaded API server.
 */
const RBAC_PROPAGATION_MS = 10_000;
/** The first pause between checks of it; each next one doubles, up to the last. */
const RBAC_PROPAGATION_PAUSES_MS = { first: 25, last: 500 };

/** Step 1: the namespace and its guardrails (quota, limit range, network policies, RBAC). */
export async function applyNamespaceGuardrails(
  ctx: StepContext,
): Promise<StepOutcome> {
  const { kube, store } = ctx;
  const existing = await kube.read<
    KubernetesObject & { status?: { phase?: string } }
  >('v1', 'Namespace', undefined, store.namespace);
  if (existing?.status?.phase === 'Terminating') {
    throw new StoreFault(
      `Namespace ${store.namespace} is still being deleted (Terminating); will retry when it is gone`,
      'transient',
      'namespace_terminating',
    );
  }
  await kube.apply(namespaceManifest(store));
  await ensureNamespaceRights(ctx);
  await kube.applyAll(namespaceGuardrailManifests(ctx));
  return advance(
    'secret',
    `Namespace ${store.namespace} ready with ResourceQuota, LimitRange, NetworkPolicies and Helm ServiceAccount`,
    'guardrails.applied',
  );
}

/**
 * The guardrails inside a store's namespace: quota, limit range, network policies, the Helm
 * ServiceAccount and its RoleBinding. None depends on another (a RoleBinding may name a
 * ServiceAccount before it exists), and all are in place before the step ends, before anything
 * runs in the namespace, so the first step applies them at once. The periodic check of a
 * Ready store re-applies the same list.
 */
export function namespaceGuardrailManifests(
  ctx: Pick<
    StepContext,
    'store' | 'config' | 'engine' | 'plan' | 'appliedPlan'
  >,
): KubernetesObject[] {
  const { store, config, engine, plan, appliedPlan } = ctx;
  const budget = appliedPlan
    ? largerBudget(
        engine.resourceBudget(plan),
        engine.resourceBudget(appliedPlan),
      )
    : engine.resourceBudget(plan);
  return [
    resourceQuotaManifest(store, budget),
    limitRangeManifest(store, budget),
    ...networkPolicyManifests(store, config.network, engine.network),
    helmServiceAccountManifest(store),
    installerRoleBindingManifest(
      store,
      config.kubernetes.storeInstallerClusterRole,
    ),
  ];
}

/** Room for the larger of two plans in every dimension: an update runs pods of both. */
function largerBudget(a: ResourceBudget, b: ResourceBudget): ResourceBudget {
  const larger = { ...a };
  for (const key of Object.keys(a) as Array<keyof ResourceBudget>) {
    larger[key] = Math.max(a[key], b[key]);
  }
  return larger;
}

/** A new RoleBinding takes a moment to reach the API server's authorizer. */
async function waitForNamespaceRights(
  kube: KubernetesClient,
  namespace: string,
  clusterRole: string,
) {
  // Short pauses first: the step holds a worker while it waits, and others may wait for it.
  const deadline = performance.now() + RBAC_PROPAGATION_MS;
  for (
    let pauseMs = RBAC_PROPAGATION_PAUSES_MS.first;
    performance.now() < deadline;
    pauseMs = Math.min(pauseMs * 2, RBAC_PROPAGATION_PAUSES_MS.last)
  ) {
    if (await kube.canI(namespace, 'create', '', 'resourcequotas')) return;
    await new Promise(resolve => setTimeout(resolve, pauseMs));
  }
  throw new StoreFault(
    `Storeplane bound ClusterRole ${clusterRole} in ${namespace} but still has no rights there; check that the ClusterRole exists and grants what the storeplane-rbac chart's files/rbac-rules.yaml lists`,
    'permanent',
    'forbidden',
  );
}

/** Step 2: the Secret with generated credentials; an existing one is kept (never regenerated). */
export async function ensureCredentialsSecret(
  ctx: StepContext,
): Promise<StepOutcome> {
  const { kube, store, engine, engineInput } = ctx;
  const existing = await kube.read(
    'v1',
    'Secret',
    store.namespace,
    CREDENTIALS_SECRET,
  );
  if (existing) {
    return advance(
      'helmInstall',
      `Secret ${CREDENTIALS_SECRET} already present; kept as is`,
      'secret.present',
    );
  }
  const { data } = engine.generateCredentials(engineInput);
  const result = await kube.createIfAbsent(
    credentialsSecretManifest(store, data),
  );
  return advance(
    'helmInstall',
    result === 'created'
      ? `Secret ${CREDENTIALS_SECRET} created with generated database and admin passwords`
      : `Secret ${CREDENTIALS_SECRET} already present; kept as is`,
    'secret.created',
  );
}

/** Step 3: the Helm install Job ran to success (one Job at a time; transient failures rerun). */
export async function runHelmInstall(ctx: StepContext): Promise<StepOutcome> {
  const { kube, store, engine, config } = ctx;
  const run = await ensureHelmJob(ctx, 'install', async () => {
    await clearInterruptedRelease(ctx);
    if (config.helm.chartSource === 'bundled') {
      const chart = await ctx.bundledChart();
      await kube.apply(chartConfigMapManifest(store, chart.archiveBase64));
    }
    await kube.apply(
      valuesConfigMapManifest(
        store,
        stringify(engine.helmValues(ctx.engineInput)),
      ),
    );
  });
  switch (run.phase) {
    case 'waitingForOthers':
      return wait(`${run.others.join(', ')} to be deleted before Helm runs`);
    case 'running':
      return wait(`Helm install Job ${run.name}`, ctx.requeueMs('jobs', 3000));
    case 'succeeded':
      return store.status === 'Updating'
        ? advance(
            'workloads',
            `Helm upgrade Job ${run.name} succeeded; the gates run next`,
            'helm.upgrade.succeeded',
          )
        : advance(
            'workloads',
            `Helm install Job ${run.name} succeeded`,
            'helm.install.succeeded',
          );
    default:
      if (run.fault.kind === 'transient') await discardHelmJob(ctx, run.name);
      throw run.fault;
  }
}

export interface Workload extends KubernetesObject {
  spec?: { replicas?: number };
  status?: {
    availableReplicas?: number;
    readyReplicas?: number;
    replicas?: number;
    updatedReplicas?: number;
  };
}

/** The release's Deployments and StatefulSets, and those without all replicas available. */
export async function workloadAvailability(
  ctx: Pick<StepContext, 'kube' | 'store' | 'engine'>,
): Promise<{ workloads: string[]; unavailable: string[] }> {
  const { kube, store, engine } = ctx;
  const workloads = [
    ...(await kube.list<Workload>(
      'apps/v1',
      'Deployment',
      store.namespace,
      engine.workloadSelector,
    )),
    ...(await kube.list<Workload>(
      'apps/v1',
      'StatefulSet',
      store.namespace,
      engine.workloadSelector,
    )),
  ];
  const name = (w: Workload) => `${w.kind}/${w.metadata?.name}`;
  return {
    workloads: workloads.map(name),
    unavailable: workloads.filter(w => !isWorkloadAvailable(w)).map(name),
  };
}

/** All wanted replicas of a Deployment (available) or StatefulSet (ready) are there. */
export function isWorkloadAvailable(workload: Workload): boolean {
  const wanted = workload.spec?.replicas ?? 1;
  const available =
    workload.kind === 'StatefulSet'
      ? workload.status?.readyReplicas
      : workload.status?.availableReplicas;
  return (available ?? 0) >= wanted;
}

/** Step 4: every Deployment and StatefulSet of the release has all replicas available. */
export async function checkWorkloadsAvailable(
  ctx: StepContext,
): Promise<StepOutcome> {
  const { store, engine } = ctx;
  const { workloads, unavailable } = await workloadAvailability(ctx);
  if (workloads.length === 0) {
    throw new StoreFault(
      `Helm reported success but no Deployments or StatefulSets match ${engine.workloadSelector} in ${store.namespace}`,
      'transient',
      'workloads_missing',
    );
  }
  if (unavailable.length > 0) {
    return wait(
      `workloads ${unavailable.join(', ')} to become available`,
      ctx.requeueMs('workloads', 3000),
    );
  }
  return advance(
    'health',
    `Workloads available: ${workloads.join(', ')}`,
    'workloads.available',
  );
}

/** What the WordPress health check saw: an HTTP status, or why it could not connect. */
export type HealthProbe =
  | { passed: boolean; message: string }
  | { passed: false; message: string; unreachable: true };

/** Asks WordPress for the health check path, from inside the cluster's network. */
export async function probeStoreHealth(
  ctx: Pick<StepContext, 'kube' | 'store' | 'engine' | 'config'>,
): Promise<HealthProbe> {
  const { kube, store, engine, config } = ctx;
  const { service, port } = engine.healthCheck;
  const path = engine.healthCheck.path ?? config.healthCheck.path;
  let status: number;
  let via: string;
  try {
    if (config.healthCheck.mode === 'url') {
      const url = new URL(
        config.healthCheck
          .urlTemplate!.replace('{namespace}', store.namespace)
          .replace('{service}', service) + path,
      );
      via = url.origin;
      status = await httpStatusOf(
        url,
        { method: 'GET' },
        config.healthCheck.timeoutMs,
      );
    } else {
      via = `the API server's service proxy to ${service}:${port}`;
      status = await kube.getThroughServiceProxy(
        store.namespace,
        service,
        port,
        path,
        config.healthCheck.timeoutMs,
      );
    }
  } catch (error) {
    return {
      passed: false,
      unreachable: true,
      message: `WordPress health check could not connect: ${
        (error as Error).message
      }`,
    };
  }
  return status >= 200 && status < 400
    ? {
        passed: true,
        message: `WordPress answered HTTP ${status} on ${path} via ${via}`,
      }
    : {
        passed: false,
        message: `WordPress answered HTTP ${status} on ${path}`,
      };
}

/**
 * Step 5: WordPress answers HTTP from inside the cluster's network. The release that passed
 * is recorded; an update that passed shrinks the guardrails to the new plan alone.
 */
export async function checkStoreHealth(ctx: StepContext): Promise<StepOutcome> {
  const probe = await probeStoreHealth(ctx);
  if (probe.passed) {
    if (ctx.store.status === 'Updating') {
      for (const manifest of namespaceGuardrailManifests({
        ...ctx,
        appliedPlan: undefined,
      })) {
        await ctx.kube.apply(manifest);
      }
    }
    return {
      ...advance('ready', probe.message, 'health.passed'),
      release: await deployedRelease(ctx),
    };
  }
  throw new StoreFault(
    'unreachable' in probe ? probe.message : `${probe.message}; will retry`,
    'transient',
    'health_check',
  );
}

/**
 * After an update whose gates failed: `helm rollback` to the revision that last passed every
 * gate, then the guardrails of its plan. The store ends Ready there, with the reason the
 * update failed as its last error and an error event; a rollback that fails itself fails the
 * store (see StoreReconciler.recordFault).
 */
export async function runHelmRollback(ctx: StepContext): Promise<StepOutcome> {
  const { kube, store } = ctx;
  const reason = store.lastError ?? 'the update did not pass its gates';
  const waitKeepingReason = (waitingFor: string): StepOutcome => ({
    ...wait(waitingFor),
    problem: reason,
  });
  const run = await ensureHelmJob(
    ctx,
    'rollback',
    undefined,
    store.helmRevision ?? undefined,
  );
  switch (run.phase) {
    case 'waitingForOthers':
      return waitKeepingReason(
        `${run.others.join(', ')} to be deleted before Helm runs`,
      );
    case 'running':
      return waitKeepingReason(`Helm rollback Job ${run.name}`);
    case 'succeeded': {
      const plan = ctx.appliedPlan ?? ctx.plan;
      for (const manifest of namespaceGuardrailManifests({
        ...ctx,
        plan,
        appliedPlan: undefined,
      })) {
        await kube.apply(manifest);
      }
      const release = await deployedRelease(ctx);
      const to = store.helmRevision
        ? `revision ${store.helmRevision}${
            store.chartVersion ? ` (chart ${store.chartVersion})` : ''
          }`
        : 'the previous revision';
      const problem = `The update failed and was rolled back to ${to} on plan ${plan.name}: ${reason}`;
      return {
        type: 'advance',
        next: 'ready',
        event: { type: 'update.rolledBack', level: 'error', message: problem },
        release,
        rolledBack: { plan: plan.name, problem },
      };
    }
    default:
      if (run.fault.kind === 'transient') await discardHelmJob(ctx, run.name);
      throw run.fault;
  }
}

/**
 * Deletion step 1: helm uninstall, so hooks and release storage are cleaned the Helm way.
 * Deleting the namespace (step 2) removes the release's objects anyway, so whenever helm
 * cannot run (no namespace rights even after re-binding them, no Helm ServiceAccount) or does
 * not finish within the step timeout, deletion goes on without it instead of waiting for ever.
 */
export async function runHelmUninstall(ctx: StepContext): Promise<StepOutcome> {
  const { kube, store, config } = ctx;
  const namespace = await kube.read<
    KubernetesObject & { status?: { phase?: string } }
  >('v1', 'Namespace', undefined, store.namespace);
  if (!namespace || namespace.status?.phase === 'Terminating') {
    return advance(
      'namespaceDeletion',
      'Nothing for Helm to uninstall (the namespace does not exist or is already being deleted)',
      'helm.uninstall.skipped',
    );
  }
  const skip = (why: string) =>
    advance(
      'namespaceDeletion',
      `Helm uninstall skipped: ${why}. Deleting the namespace removes the release's objects instead.`,
      'helm.uninstall.skipped',
      'warning',
    );
  if (ctx.stepElapsedMs > config.reconciler.stepTimeoutMs) {
    return skip(
      `it did not finish within ${describeDuration(
        config.reconciler.stepTimeoutMs,
      )}`,
    );
  }
  try {
    // A store whose guardrails never finished may lack the binding that gives Storeplane
    // rights in its namespace; without it every call below would be refused for ever.
    await ensureNamespaceRights(ctx);
    const serviceAccount = await kube.read(
      'v1',
      'ServiceAccount',
      store.namespace,
      HELM_SERVICE_ACCOUNT,
    );
    if (!serviceAccount) {
      return skip(
        `the namespace has no Helm ServiceAccount, so nothing was installed`,
      );
    }
    const run = await ensureHelmJob(ctx, 'uninstall');
    switch (run.phase) {
      case 'waitingForOthers':
        return wait(`${run.others.join(', ')} to be deleted before Helm runs`);
      case 'running':
        return wait(
          `Helm uninstall Job ${run.name}`,
          ctx.requeueMs('jobs', 3000),
        );
      case 'succeeded':
        return advance(
          'namespaceDeletion',
          `Helm uninstall Job ${run.name} succeeded`,
          'helm.uninstall.succeeded',
        );
      default:
        return advance(
          'namespaceDeletion',
          `${run.fault.message}. Deleting the namespace removes the release's objects anyway.`,
          'helm.uninstall.failed',
          'warning',
        );
    }
  } catch (error) {
    const fault = classifyFault(error);
    if (fault.reason === 'forbidden') return skip(fault.message);
    throw error;
  }
}

/** Re-binds the store-manager role to Storeplane in the namespace (idempotent) and waits for it. */
export async function ensureNamespaceRights(ctx: StepContext) {
  const { kube, store, config } = ctx;
  const rbac = config.kubernetes;
  if (!rbac.serviceAccount) return;
  await kube.apply(
    managerRoleBindingManifest(
      store,
      rbac.storeManagerClusterRole,
      rbac.serviceAccount,
    ),
  );
  await waitForNamespaceRights(
    kube,
    store.namespace,
    rbac.storeManagerClusterRole,
  );
}

interface NamespaceStatus {
  phase?: string;
  conditions?: Array<{ type: string; status: string; message?: string }>;
}

/**
 * Deletion step 2: delete the namespace and wait until the API server has finalized it. It
 * waits as long as that takes; once past the step timeout it says, as the store's last error,
 * what is holding the namespace (remaining content, finalizers).
 */
export async function deleteStoreNamespace(
  ctx: StepContext,
): Promise<StepOutcome> {
  const { kube, store, config } = ctx;
  const namespace = await kube.read<
    KubernetesObject & { status?: NamespaceStatus }
  >('v1', 'Namespace', undefined, store.namespace);
  if (!namespace) {
    return advance(
      'deleted',
      `Namespace ${store.namespace} is gone`,
      'namespace.deleted',
    );
  }
  // Deleting a Terminating namespace again answers 409; it only needs time.
  if (namespace.status?.phase !== 'Terminating') {
    await kube.delete('v1', 'Namespace', undefined, store.namespace);
  }
  if (ctx.stepElapsedMs <= config.reconciler.stepTimeoutMs) {
    return wait(
      `namespace ${store.namespace} to be finalized`,
      ctx.requeueMs('namespaces', 2000),
    );
  }
  const holding = (namespace.status?.conditions ?? [])
    .filter(c => c.status === 'True' && c.message)
    .map(c => c.message)
    .join('; ');
  return {
    type: 'wait',
    requeueMs: 30_000,
    waitingFor: `namespace ${store.namespace} to be finalized`,
    problem: `Namespace ${
      store.namespace
    } is still being deleted after more than ${describeDuration(
      config.reconciler.stepTimeoutMs,
    )}${
      holding ? `: ${holding}` : ''
    }. Deletion keeps waiting; a finalizer whose controller is missing must be removed by hand (kubectl get namespace ${
      store.namespace
    } -o yaml).`,
  };
}

/** Every step but `restore`, which needs the restores' records (see restoreRun.ts). */
export const STEP_FUNCTIONS: Record<
  Exclude<StoreStep, 'restore'>,
  (ctx: StepContext) => Promise<StepOutcome>
> = {
  guardrails: applyNamespaceGuardrails,
  secret: ensureCredentialsSecret,
  helmInstall: runHelmInstall,
  workloads: checkWorkloadsAvailable,
  health: checkStoreHealth,
  helmRollback: runHelmRollback,
  helmUninstall: runHelmUninstall,
  namespaceDeletion: deleteStoreNamespace,
};
