import { KubernetesObject, V1Job, V1Pod } from '@kubernetes/client-node';
import { gunzipSync } from 'node:zlib';
import { KubernetesClient } from '../kubernetes/KubernetesClient';
import {
  HELM_ROLE_SELECTOR,
  helmJobManifest,
  helmJobName,
  HelmOperation,
  helmReleaseRecordSelector,
} from '../kubernetes/storeResources';
import { classifyHelmFailure, StoreFault } from './faults';
import type { StepContext } from './steps';

/** Where a store's Helm Job for the current generation stands. */
export type HelmRun =
  | { phase: 'waitingForOthers'; others: string[] }
  | { phase: 'running'; name: string }
  | { phase: 'succeeded'; name: string }
  | { phase: 'failed'; name: string; fault: StoreFault };

const FINISHED_POD_PHASES = new Set(['Succeeded', 'Failed']);

/**
 * At most one Helm Job per store at any time. Deletes every other Helm Job of the store with
 * foreground propagation (the Job stays until its pods are gone) and returns what is still
 * there: Jobs being deleted, and running helm pods that belong to no kept Job.
 */
async function removeOtherHelmJobs(
  kube: KubernetesClient,
  namespace: string,
  keep: string,
): Promise<string[]> {
  const jobs = await kube.list<V1Job>(
    'batch/v1',
    'Job',
    namespace,
    HELM_ROLE_SELECTOR,
  );
  const others = jobs.filter(job => job.metadata?.name !== keep);
  for (const job of others) {
    if (!job.metadata?.deletionTimestamp) {
      await kube.delete(
        'batch/v1',
        'Job',
        namespace,
        job.metadata!.name!,
        'Foreground',
      );
    }
  }
  const strayPods = (
    await kube.list<V1Pod>('v1', 'Pod', namespace, HELM_ROLE_SELECTOR)
  ).filter(
    pod =>
      pod.metadata?.labels?.['job-name'] !== keep &&
      !FINISHED_POD_PHASES.has(pod.status?.phase ?? ''),
  );
  return [
    ...others.map(job => `Job ${job.metadata!.name}`),
    ...strayPods.map(pod => `pod ${pod.metadata!.name}`),
  ];
}

/** The last pod of a Job: its termination message (helm's output, a backup's size) and exit code. */
export async function lastPodOutcome(
  kube: KubernetesClient,
  namespace: string,
  jobName: string,
): Promise<{ output?: string; exitCode?: number }> {
  const pods = await kube.list<V1Pod>(
    'v1',
    'Pod',
    namespace,
    `job-name=${jobName}`,
  );
  const terminated = pods
    .map(pod => pod.status?.containerStatuses?.[0]?.state?.terminated)
    .filter(Boolean);
  const last = terminated[terminated.length - 1];
  return {
    output: last?.message?.trim() || undefined,
    exitCode: last?.exitCode,
  };
}

/**
 * Makes sure the store's one Helm Job of this generation exists and says how it stands. Other
 * Helm Jobs (older generations, the other operation, a failed run) are deleted and awaited
 * before this one is created; `prepare` runs right before the create.
 */
export async function ensureHelmJob(
  ctx: StepContext,
  operation: HelmOperation,
  prepare: () => Promise<void> = async () => {},
  rollbackRevision?: number,
): Promise<HelmRun> {
  const { kube, store, engine, config } = ctx;
  const name = helmJobName(operation, store.generation);
  const others = await removeOtherHelmJobs(kube, store.namespace, name);
  if (others.length > 0) return { phase: 'waitingForOthers', others };

  const job = await kube.read<V1Job>('batch/v1', 'Job', store.namespace, name);
  if (!job) {
    await prepare();
    await kube.createIfAbsent(
      helmJobManifest({
        store,
        engine,
        operation,
        generation: store.generation,
        helm: config.helm,
        rollbackRevision,
      }),
    );
    return { phase: 'running', name };
  }
  if (job.metadata?.deletionTimestamp) return { phase: 'running', name };
  const conditions = job.status?.conditions ?? [];
  const condition = (type: string) =>
    conditions.find(c => c.type === type && c.status === 'True');
  if (condition('Complete')) return { phase: 'succeeded', name };
  const failed = condition('Failed');
  if (!failed) return { phase: 'running', name };
  const outcome = await lastPodOutcome(kube, store.namespace, name);
  return {
    phase: 'failed',
    name,
    fault: classifyHelmFailure(`Helm ${operation} Job ${name}`, {
      ...outcome,
      jobMessage:
        failed.message ??
        (failed.reason === 'DeadlineExceeded'
          ? 'the Job ran past its deadline'
          : 'the Job failed'),
    }),
  };
}

/** Deletes a failed Helm Job (and, by foreground propagation, its pod) before it runs again. */
export async function discardHelmJob(ctx: StepContext, name: string) {
  await ctx.kube.delete(
    'batch/v1',
    'Job',
    ctx.store.namespace,
    name,
    'Foreground',
  );
}

interface ReleaseRecord {
  name: string;
  revision: number;
  status: string;
}

type ReleaseSecret = KubernetesObject & { data?: Record<string, string> };

async function listReleaseSecrets(
  ctx: Pick<StepContext, 'kube' | 'store' | 'engine'>,
): Promise<ReleaseSecret[]> {
  const { kube, store, engine } = ctx;
  return kube.list<ReleaseSecret>(
    'v1',
    'Secret',
    store.namespace,
    helmReleaseRecordSelector(engine.releaseName),
  );
}

/**
 * The release's deployed revision and its chart version, from Helm's own record (a Secret
 * whose `release` holds the release as gzipped JSON, base64-encoded once more by Helm).
 */
export async function deployedRelease(
  ctx: Pick<StepContext, 'kube' | 'store' | 'engine'>,
): Promise<{ revision: number; chartVersion: string | null } | undefined> {
  const deployed = (await listReleaseSecrets(ctx))
    .filter(secret => secret.metadata?.labels?.status === 'deployed')
    .sort(
      (a, b) =>
        Number(b.metadata?.labels?.version ?? 0) -
        Number(a.metadata?.labels?.version ?? 0),
    )[0];
  if (!deployed) return undefined;
  let chartVersion: string | null = null;
  try {
    const encoded = Buffer.from(deployed.data!.release, 'base64').toString();
    const release = JSON.parse(
      gunzipSync(Buffer.from(encoded, 'base64')).toString(),
    );
    chartVersion = release?.chart?.metadata?.version ?? null;
  } catch {
    // A record Storeplane cannot read still tells the revision.
  }
  return {
    revision: Number(deployed.metadata!.labels!.version),
    chartVersion,
  };
}

/**
 * Before an install runs, removes what an earlier run left that would stop or skew it. Only
 * called when no other Helm Job of the store exists, so a pending record cannot belong to a
 * live helm:
 * - a revision still `pending-*`: the lock of a helm that was stopped midway (helm would answer
 *   "another operation is in progress" for ever);
 * - failed revisions of a release that was never deployed: the run then installs revision 1
 *   instead of piling up revisions, so `helm history` shows one per install asked for.
 */
export async function clearInterruptedRelease(ctx: StepContext) {
  const { kube, store, engine } = ctx;
  const records = (await listReleaseSecrets(ctx))
    .map(
      (secret): ReleaseRecord => ({
        name: secret.metadata!.name!,
        revision: Number(secret.metadata?.labels?.version ?? 0),
        status: secret.metadata?.labels?.status ?? '',
      }),
    )
    .sort((a, b) => a.revision - b.revision);
  const latest = records[records.length - 1];
  if (latest?.status.startsWith('pending-')) {
    await kube.delete('v1', 'Secret', store.namespace, latest.name);
    records.pop();
    await ctx.record({
      type: 'helm.lock.cleared',
      level: 'warning',
      message: `Helm release ${engine.releaseName} revision ${latest.revision} was left ${latest.status} by a Helm run that was stopped midway; removed that lock (no other Helm Job of this store is running)`,
    });
  }
  const everDeployed = records.some(
    r => r.status === 'deployed' || r.status === 'superseded',
  );
  const failed = records.filter(r => r.status === 'failed');
  if (!everDeployed && failed.length > 0) {
    for (const record of failed) {
      await kube.delete('v1', 'Secret', store.namespace, record.name);
    }
    await ctx.record({
      type: 'helm.failed.cleared',
      level: 'info',
      message: `Removed ${failed.length} failed revision(s) of Helm release ${engine.releaseName}, which was never deployed, so this run installs revision 1`,
    });
  }
}
