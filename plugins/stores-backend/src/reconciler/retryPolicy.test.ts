import { StoreFault } from './faults';
import { backoffDelay, decideAfterFault } from './retryPolicy';

const policy = { maxAttempts: 3, initialBackoffMs: 1000, maxBackoffMs: 8000 };
const transient = new StoreFault('API busy', 'transient', 'rate_limited');
const permanent = new StoreFault('invalid', 'permanent', 'invalid');

describe('decideAfterFault', () => {
  it('retries a transient fault with backoff until the cap, then fails with the last error', () => {
    const random = () => 1;
    expect(
      decideAfterFault(
        { status: 'Provisioning', attempts: 0 },
        transient,
        policy,
        random,
      ),
    ).toEqual({ type: 'retry', attempts: 1, delayMs: 1000 });
    expect(
      decideAfterFault(
        { status: 'Provisioning', attempts: 1 },
        transient,
        policy,
        random,
      ),
    ).toEqual({ type: 'retry', attempts: 2, delayMs: 2000 });
    expect(
      decideAfterFault(
        { status: 'Provisioning', attempts: 2 },
        transient,
        policy,
        random,
      ),
    ).toEqual({
      type: 'fail',
      attempts: 3,
      message: 'Gave up after 3 attempts: API busy',
    });
  });

  it('fails a permanent fault at once while provisioning', () => {
    expect(
      decideAfterFault(
        { status: 'Provisioning', attempts: 0 },
        permanent,
        policy,
      ),
    ).toEqual({ type: 'fail', attempts: 1, message: 'invalid' });
  });

  it('never fails a deletion: permanent or past the cap, it retries at most maxBackoff apart', () => {
    for (const fault of [transient, permanent]) {
      const decision = decideAfterFault(
        { status: 'Deleting', attempts: 40 },
        fault,
        policy,
        () => 1,
      );
      expect(decision).toEqual({ type: 'retry', attempts: 41, delayMs: 8000 });
    }
  });

  it('waits for a cluster without counting attempts', () => {
    expect(
      decideAfterFault(
        { status: 'Provisioning', attempts: 2 },
        new StoreFault('no cluster', 'transient', 'no_cluster'),
        policy,
      ),
    ).toEqual({ type: 'waitForCluster', delayMs: 8000 });
  });
});

describe('backoffDelay', () => {
  it('doubles up to the maximum, with jitter between half and all of it', () => {
    expect(backoffDelay(1, 1000, 8000, () => 0)).toBe(500);
    expect(backoffDelay(4, 1000, 8000, () => 1)).toBe(8000);
    expect(backoffDelay(60, 1000, 8000, () => 0.5)).toBe(6000);
  });
});
