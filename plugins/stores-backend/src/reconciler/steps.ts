import { KubernetesObject, V1Job, V1Pod } from '@kubernetes/client-node';
import { StorePlan, StoreStep } from '@storeplane/plugin-stores-common';
import { stringify } from 'yaml';
import { StoresConfig } from '../config/readStoresConfig';
import { EngineStoreInput, StoreEngine } from '../engines/types';
import { httpStatusOf, KubernetesClient } from '../kubernetes/KubernetesClient';
import {
  chartConfigMapManifest,
  credentialsSecretManifest,
  CREDENTIALS_SECRET,
  helmJobManifest,
  helmJobName,
  HelmOperation,
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
import { StoreFault } from './faults';

export interface StepContext {
  store: StoreRecord;
  plan: StorePlan;
  engine: StoreEngine;
  engineInput: EngineStoreInput;
  kube: KubernetesClient;
  config: StoresConfig;
  bundledChart: () => Promise<{ archiveBase64: string }>;
}

/** What a step did: moved the store on, or is waiting on the cluster and wants another look. */
export type StepOutcome =
  | {
      type: 'advance';
      next: StoreStep | 'ready' | 'deleted';
      event: NewStoreEvent;
    }
  | { type: 'wait'; requeueMs: number; waitingFor: string };

const advance = (
  next: StoreStep | 'ready' | 'deleted',
  message: string,
  type: string,
): StepOutcome => ({
  type: 'advance',
  next,
  event: { type, level: 'info', message },
});

const wait = (waitingFor: string, requeueMs = 3000): StepOutcome => ({
  type: 'wait',
  requeueMs,
  waitingFor,
});

const RBAC_PROPAGATION_CHECKS = 10;

/** Step 1: the namespace and its guardrails (quota, limit range, network policies, RBAC). */
export async function applyNamespaceGuardrails(
  ctx: StepContext,
): Promise<StepOutcome> {
  const { kube, store, config, engine, plan } = ctx;
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

  const rbac = config.kubernetes;
  if (rbac.serviceAccount) {
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

  const budget = engine.resourceBudget(plan);
  await kube.apply(resourceQuotaManifest(store, budget));
  await kube.apply(limitRangeManifest(store, budget));
  for (const policy of networkPolicyManifests(
    store,
    config.network,
    engine.network,
  )) {
    await kube.apply(policy);
  }
  await kube.apply(helmServiceAccountManifest(store));
  await kube.apply(
    installerRoleBindingManifest(store, rbac.storeInstallerClusterRole),
  );
  return advance(
    'secret',
    `Namespace ${store.namespace} ready with ResourceQuota, LimitRange, NetworkPolicies and Helm ServiceAccount`,
    'guardrails.applied',
  );
}

/** A new RoleBinding takes a moment to reach the API server's authorizer. */
async function waitForNamespaceRights(
  kube: KubernetesClient,
  namespace: string,
  clusterRole: string,
) {
  for (let check = 0; check < RBAC_PROPAGATION_CHECKS; check++) {
    if (await kube.canI(namespace, 'create', '', 'resourcequotas')) return;
    await new Promise(resolve => setTimeout(resolve, 300));
  }
  throw new StoreFault(
    `Storeplane bound ClusterRole ${clusterRole} in ${namespace} but still has no rights there; check that the ClusterRole exists and grants what charts/backstage-storeplane/files/rbac-rules.yaml lists`,
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

interface JobState {
  phase: 'absent' | 'running' | 'succeeded' | 'failed';
  message?: string;
}

async function readJobState(
  kube: KubernetesClient,
  namespace: string,
  name: string,
): Promise<JobState> {
  const job = await kube.read<V1Job>('batch/v1', 'Job', namespace, name);
  if (!job) return { phase: 'absent' };
  const conditions = job.status?.conditions ?? [];
  const isTrue = (type: string) =>
    conditions.some(c => c.type === type && c.status === 'True');
  if (isTrue('Complete')) return { phase: 'succeeded' };
  if (isTrue('Failed')) {
    const reason =
      conditions.find(c => c.type === 'Failed')?.message ?? 'the Job failed';
    return {
      phase: 'failed',
      message: `${reason}${await jobOutputTail(kube, namespace, name)}`,
    };
  }
  return { phase: 'running' };
}

/** The last lines helm printed, from the failed pod's termination message. */
async function jobOutputTail(
  kube: KubernetesClient,
  namespace: string,
  jobName: string,
): Promise<string> {
  const pods = await kube.list<V1Pod>(
    'v1',
    'Pod',
    namespace,
    `job-name=${jobName}`,
  );
  const messages = pods
    .map(pod =>
      pod.status?.containerStatuses?.[0]?.state?.terminated?.message?.trim(),
    )
    .filter((message): message is string => Boolean(message));
  const last = messages[messages.length - 1];
  return last
    ? `. Helm output (last lines):\n${last.split('\n').slice(-20).join('\n')}`
    : '';
}

async function ensureHelmJob(
  ctx: StepContext,
  operation: HelmOperation,
): Promise<JobState & { name: string }> {
  const { kube, store, engine, config } = ctx;
  const name = helmJobName(operation, store.generation);
  const state = await readJobState(kube, store.namespace, name);
  if (state.phase !== 'absent') return { ...state, name };
  if (operation === 'install') {
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
  }
  await kube.createIfAbsent(
    helmJobManifest({
      store,
      engine,
      operation,
      generation: store.generation,
      helm: config.helm,
    }),
  );
  return { phase: 'running', name };
}

/** Step 3: the Helm install Job ran to success. */
export async function runHelmInstall(ctx: StepContext): Promise<StepOutcome> {
  const job = await ensureHelmJob(ctx, 'install');
  if (job.phase === 'succeeded') {
    return advance(
      'workloads',
      `Helm install Job ${job.name} succeeded`,
      'helm.install.succeeded',
    );
  }
  if (job.phase === 'failed') {
    throw new StoreFault(
      `Helm install Job ${job.name} failed: ${job.message}`,
      'permanent',
      'helm_failed',
    );
  }
  return wait(`Helm install Job ${job.name}`);
}

interface Workload extends KubernetesObject {
  spec?: { replicas?: number };
  status?: {
    availableReplicas?: number;
    readyReplicas?: number;
    replicas?: number;
    updatedReplicas?: number;
  };
}

/** Step 4: every Deployment and StatefulSet of the release has all replicas available. */
export async function checkWorkloadsAvailable(
  ctx: StepContext,
): Promise<StepOutcome> {
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
  if (workloads.length === 0) {
    throw new StoreFault(
      `Helm reported success but no Deployments or StatefulSets match ${engine.workloadSelector} in ${store.namespace}`,
      'transient',
      'workloads_missing',
    );
  }
  const notReady = workloads.filter(w => {
    const wanted = w.spec?.replicas ?? 1;
    const available =
      w.kind === 'StatefulSet'
        ? w.status?.readyReplicas
        : w.status?.availableReplicas;
    return (available ?? 0) < wanted;
  });
  if (notReady.length > 0) {
    return wait(
      `workloads ${notReady
        .map(w => `${w.kind}/${w.metadata?.name}`)
        .join(', ')} to become available`,
      3000,
    );
  }
  return advance(
    'health',
    `Workloads available: ${workloads
      .map(w => `${w.kind}/${w.metadata?.name}`)
      .join(', ')}`,
    'workloads.available',
  );
}

/** Step 5: WordPress answers HTTP from inside the cluster's network. */
export async function checkStoreHealth(ctx: StepContext): Promise<StepOutcome> {
  const { kube, store, engine, config } = ctx;
  const { service, port } = engine.healthCheck;
  const path = config.healthCheck.path;
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
        config.kubernetes.requestTimeoutMs,
      );
    } else {
      via = `the API server's service proxy to ${service}:${port}`;
      status = await kube.getThroughServiceProxy(
        store.namespace,
        service,
        port,
        path,
      );
    }
  } catch (error) {
    throw new StoreFault(
      `WordPress health check could not connect: ${(error as Error).message}`,
      'transient',
      'health_check',
    );
  }
  if (status >= 200 && status < 400) {
    return advance(
      'ready',
      `WordPress answered HTTP ${status} on ${path} via ${via}`,
      'health.passed',
    );
  }
  throw new StoreFault(
    `WordPress answered HTTP ${status} on ${path}; will retry`,
    'transient',
    'health_check',
  );
}

/** Deletion step 1: helm uninstall, so hooks and release storage are cleaned the Helm way. */
export async function runHelmUninstall(ctx: StepContext): Promise<StepOutcome> {
  const { kube, store } = ctx;
  const namespace = await kube.read<
    KubernetesObject & { status?: { phase?: string } }
  >('v1', 'Namespace', undefined, store.namespace);
  const serviceAccount =
    namespace &&
    (await kube.read(
      'v1',
      'ServiceAccount',
      store.namespace,
      HELM_SERVICE_ACCOUNT,
    ));
  if (
    !namespace ||
    namespace.status?.phase === 'Terminating' ||
    !serviceAccount
  ) {
    return advance(
      'namespaceDeletion',
      'Nothing for Helm to uninstall (the namespace or its Helm ServiceAccount does not exist)',
      'helm.uninstall.skipped',
    );
  }
  // An install still running would race the uninstall.
  for (const job of await kube.list<V1Job>(
    'batch/v1',
    'Job',
    store.namespace,
    'storeplane.io/helm-operation=install',
  )) {
    await kube.delete('batch/v1', 'Job', store.namespace, job.metadata!.name!);
  }
  const job = await ensureHelmJob(ctx, 'uninstall');
  if (job.phase === 'succeeded') {
    return advance(
      'namespaceDeletion',
      `Helm uninstall Job ${job.name} succeeded`,
      'helm.uninstall.succeeded',
    );
  }
  if (job.phase === 'failed') {
    // Deleting the namespace removes whatever helm left behind, so deletion goes on.
    return {
      type: 'advance',
      next: 'namespaceDeletion',
      event: {
        type: 'helm.uninstall.failed',
        level: 'warning',
        message: `Helm uninstall Job ${job.name} failed; deleting the namespace removes the release's objects anyway. ${job.message}`,
      },
    };
  }
  return wait(`Helm uninstall Job ${job.name}`);
}

/** Deletion step 2: delete the namespace and wait until the API server has finalized it. */
export async function deleteStoreNamespace(
  ctx: StepContext,
): Promise<StepOutcome> {
  const { kube, store } = ctx;
  const namespace = await kube.read<
    KubernetesObject & { status?: { phase?: string } }
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
  return wait(`namespace ${store.namespace} to be finalized`, 2000);
}

export const STEP_FUNCTIONS: Record<
  StoreStep,
  (ctx: StepContext) => Promise<StepOutcome>
> = {
  guardrails: applyNamespaceGuardrails,
  secret: ensureCredentialsSecret,
  helmInstall: runHelmInstall,
  workloads: checkWorkloadsAvailable,
  health: checkStoreHealth,
  helmUninstall: runHelmUninstall,
  namespaceDeletion: deleteStoreNamespace,
};
