import { V1Job } from '@kubernetes/client-node';
import { BackupRecord, BackupRepository } from '../database/BackupRepository';
import {
  backupJobManifest,
  backupJobName,
  backupsPvcManifest,
} from '../kubernetes/backupResources';
import { lastPodOutcome } from './helmJobs';
import type { StepContext } from './steps';

/** How soon the reconciler looks at a running backup again. */
export const BACKUP_POLL_MS = 5_000;

/**
 * Moves the store's one unfinished backup along (called while its store lease is held):
 * a Pending backup gets the backups volume (created if missing) and its Job, which also
 * removes the files retention gives up; a Running one is recorded as Succeeded (with the size
 * the Job reported) or Failed once its Job ends. Returns when to look again, or undefined when
 * no backup is unfinished.
 */
export async function advanceBackup(
  ctx: StepContext,
  backups: BackupRepository,
  options: { retention: number; leaseToken: string },
): Promise<number | undefined> {
  const { store, engine, kube } = ctx;
  const hold = { storeId: store.id, token: options.leaseToken };
  const backup = await backups.unfinishedBackup(store.id);
  if (!backup) return undefined;
  const fail = async (message: string) => {
    await failBackup(ctx, backups, backup, hold, message);
    return undefined;
  };

  const databaseBackup = engine.databaseBackup;
  if (!databaseBackup) {
    return fail(`the ${engine.title} engine has no database backup`);
  }
  const jobName = backupJobName(backup.id);
  if (backup.status === 'Pending') {
    await kube.createIfAbsent(
      backupsPvcManifest({
        store,
        sizeBytes: databaseBackup.volumeSize(ctx.plan),
        storageClass: ctx.engineInput.storageClass,
      }),
    );
    // Keeps retention - 1 older backups beside the new one.
    const expired = await backups.backupsBeyondRetention(
      store.id,
      Math.max(options.retention - 1, 0),
    );
    await kube.createIfAbsent(
      backupJobManifest({
        store,
        backup: databaseBackup,
        backupId: backup.id,
        expiredFiles: expired.map(b => b.file),
      }),
    );
    if (await backups.startBackup(backup.id, hold)) {
      await ctx.record({
        type: 'backup.started',
        level: 'info',
        message: `Backup ${backup.id} started (Job ${jobName})`,
      });
    }
    return BACKUP_POLL_MS;
  }

  const job = await kube.read<V1Job>(
    'batch/v1',
    'Job',
    store.namespace,
    jobName,
  );
  if (!job) return fail(`its Job ${jobName} was deleted before it finished`);
  const condition = (type: string) =>
    job.status?.conditions?.find(c => c.type === type && c.status === 'True');
  if (condition('Complete')) {
    const { output } = await lastPodOutcome(kube, store.namespace, jobName);
    const sizeBytes = Number(output);
    if (!output || !Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) {
      return fail(
        `its Job ${jobName} completed without reporting the dump's size (termination message ${JSON.stringify(
          output ?? '',
        )})`,
      );
    }
    return succeed(ctx, backups, backup, hold, sizeBytes, options.retention);
  }
  const failed = condition('Failed');
  if (failed) {
    const { output } = await lastPodOutcome(kube, store.namespace, jobName);
    return fail(
      `its Job ${jobName} failed: ${
        output ?? failed.message ?? failed.reason ?? 'no reason given'
      }`,
    );
  }
  return BACKUP_POLL_MS;
}

/** Records the store's unfinished backup as Failed, with a `backup.failed` event. */
export async function failBackup(
  ctx: StepContext,
  backups: BackupRepository,
  backup: BackupRecord,
  hold: { storeId: string; token: string },
  message: string,
): Promise<void> {
  if (backup.status === 'Pending') await backups.startBackup(backup.id, hold);
  if (
    await backups.finishBackup(backup.id, hold, { status: 'Failed', message })
  )
    await ctx.record({
      type: 'backup.failed',
      level: 'error',
      message: `Backup ${backup.id} failed: ${message}. Ask for a new backup; nothing else changed.`,
    });
}

async function succeed(
  ctx: StepContext,
  backups: BackupRepository,
  backup: BackupRecord,
  hold: { storeId: string; token: string },
  sizeBytes: number,
  retention: number,
): Promise<undefined> {
  if (
    !(await backups.finishBackup(backup.id, hold, {
      status: 'Succeeded',
      sizeBytes,
    }))
  )
    return undefined;
  // The Job removed these files after its dump succeeded.
  const removed = await backups.backupsBeyondRetention(
    backup.storeId,
    retention,
  );
  await backups.deleteFinishedBackups(
    removed.map(b => b.id),
    hold,
  );
  await ctx.record({
    type: 'backup.succeeded',
    level: 'info',
    message: `Backup ${backup.id} succeeded (${sizeBytes} bytes)${
      removed.length > 0
        ? `; ${removed.length} older backup(s) removed (retention ${retention})`
        : ''
    }`,
  });
  return undefined;
}
