import { StoreRecord } from '../database/StoreRepository';
import { StoreFault } from './faults';

export interface RetryPolicy {
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

/** What happens to a store after a step failed. The one place for backoff and the retry cap. */
export type FaultDecision =
  | { type: 'fail'; attempts: number; message: string }
  | { type: 'retry'; attempts: number; delayMs: number }
  /** Nothing to count down (no cluster configured): look again later, attempts unchanged. */
  | { type: 'waitForCluster'; delayMs: number };

/** Exponential backoff with equal jitter: between half and all of min(max, initial * 2^(attempt-1)). */
export function backoffDelay(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(0, attempt - 1), 30);
  const ceiling = Math.min(maxMs, initialMs * 2 ** exponent);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Provisioning: a permanent fault fails the store at once; a transient one is retried with
 * backoff until `maxAttempts`, then the store fails with the last error. Deletion never fails:
 * nothing may be orphaned, so it keeps retrying, at most `maxBackoff` apart.
 */
export function decideAfterFault(
  store: Pick<StoreRecord, 'status' | 'attempts'>,
  fault: StoreFault,
  policy: RetryPolicy,
  random: () => number = Math.random,
): FaultDecision {
  if (fault.reason === 'no_cluster') {
    return { type: 'waitForCluster', delayMs: policy.maxBackoffMs };
  }
  const attempts = store.attempts + 1;
  const deleting = store.status === 'Deleting';
  if (!deleting && fault.kind === 'permanent') {
    return { type: 'fail', attempts, message: fault.message };
  }
  if (!deleting && attempts >= policy.maxAttempts) {
    return {
      type: 'fail',
      attempts,
      message: `Gave up after ${attempts} attempts: ${fault.message}`,
    };
  }
  return {
    type: 'retry',
    attempts,
    delayMs: backoffDelay(
      attempts,
      policy.initialBackoffMs,
      policy.maxBackoffMs,
      random,
    ),
  };
}
