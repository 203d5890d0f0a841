import { V1Job } from '@kubernetes/client-node';
import { RestoreRepository } from '../database/RestoreRepository';
import {
  restoreJobManifest,
  restoreJobName,
} from '../kubernetes/backupResources';
import { StoreFault } from './faults';
import { lastPodOutcome } from './helmJobs';
import type { StepContext, StepOutcome } from './steps';

/** How soon the reconciler looks at a running restore Job again (the Job watch sees Helm Jobs only). */
export const RESTORE_POLL_MS = 5_000;

/** What the restore step did: like any step, or the restore Job failed. */
export type RestoreOutcome =
  | StepOutcome
  | { type: 'restoreFailed'; restoreId: string; message: string };

/**
 * The step `restore` of a Restoring store (called while its lease is held): creates the
 * restore Job of the store's running restore, once (a finished Job of an earlier restore of
 * the same backup is deleted first, so its outcome is never taken for this one's), and waits
 * for it. A completed Job moves the store on to the availability and health gates that follow
 * an install or upgrade; a failed one is the restore's failure, for the reconciler to record.
 */
export async function runRestore(
  ctx: StepContext,
  restores: RestoreRepository,
  leaseToken: string,
): Promise<RestoreOutcome> {
  const { store, engine, kube } = ctx;
  const hold = { storeId: store.id, token: leaseToken };
  const restore = await restores.runningRestore(store.id);
  if (!restore) {
    throw new StoreFault(
      'The store is Restoring but no restore is recorded for it; retry the store',
      'permanent',
      'restore_missing',
    );
  }
  const failed = (message: string): RestoreOutcome => ({
    type: 'restoreFailed',
    restoreId: restore.id,
    message,
  });
  const databaseBackup = engine.databaseBackup;
  if (!databaseBackup) {
    return failed(`the ${engine.title} engine has no database backup`);
  }
  const jobName = restoreJobName(restore.backupId);
  const wait = (waitingFor: string): StepOutcome => ({
    type: 'wait',
    requeueMs: RESTORE_POLL_MS,
    waitingFor,
  });
  const job = await kube.read<V1Job>(
    'batch/v1',
    'Job',
    store.namespace,
    jobName,
  );

  if (restore.jobStartedAt === null) {
    if (job) {
      if (!job.metadata?.deletionTimestamp) {
        await kube.delete(
          'batch/v1',
          'Job',
          store.namespace,
          jobName,
          'Foreground',
        );
      }
      return wait(`an earlier restore Job ${jobName} to be removed`);
    }
    await kube.createIfAbsent(
      restoreJobManifest({
        store,
        backup: databaseBackup,
        backupId: restore.backupId,
      }),
    );
    if (await restores.markJobStarted(restore.id, hold)) {
      await ctx.record({
        type: 'restore.started',
        level: 'info',
        message: `Restore of backup ${restore.backupId} started (Job ${jobName})`,
      });
    }
    return wait(`restore Job ${jobName}`);
  }

  if (!job) return failed(`its Job ${jobName} was deleted before it finished`);
  const condition = (type: string) =>
    job.status?.conditions?.find(c => c.type === type && c.status === 'True');
  if (condition('Complete')) {
    return {
      type: 'advance',
      next: 'workloads',
      event: {
        type: 'restore.loaded',
        level: 'info',
        message: `Backup ${restore.backupId} was loaded into the database (Job ${jobName}); checking that the store is available and healthy`,
      },
    };
  }
  const jobFailed = condition('Failed');
  if (jobFailed) {
    const { output } = await lastPodOutcome(kube, store.namespace, jobName);
    return failed(
      `its Job ${jobName} failed: ${
        output ?? jobFailed.message ?? jobFailed.reason ?? 'no reason given'
      }`,
    );
  }
  return wait(`restore Job ${jobName}`);
}
