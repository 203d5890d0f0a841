import { describeDuration } from '../reconciler/steps';
import { StoresConfig } from './readStoresConfig';

/**
 * Says why `reconciler.stepTimeout` is too short for `helm.timeout`, or nothing when it is not.
 * A Helm Job whose API server went away may wait out its own timeout before it fails and runs
 * again as a transient fault, all within one step: a step shorter than two Helm timeouts fails
 * the store after an outage it would have survived.
 */
export function stepTimeoutShortfall(config: StoresConfig): string | undefined {
  const stepTimeoutMs = config.reconciler.stepTimeoutMs;
  const helmTimeoutMs = config.helm.timeoutSeconds * 1000;
  if (stepTimeoutMs >= 2 * helmTimeoutMs) return undefined;
  return (
    `storeplane.reconciler.stepTimeout (${describeDuration(
      stepTimeoutMs,
    )}) is shorter than ` +
    `twice storeplane.helm.timeout (${describeDuration(
      helmTimeoutMs,
    )}): a Helm Job that waits ` +
    'out its timeout after a transient fault (an API server restart) has no time left to run ' +
    'again, and its store fails. Make stepTimeout at least twice helm.timeout.'
  );
}
