import { useEffect, useRef } from 'react';
import useInterval from 'react-use/esm/useInterval';
import { configApiRef, useApiHolder } from '@backstage/core-plugin-api';
import { useSignal } from '@backstage/plugin-signals-react';
import { StoreSignal } from '@storeplane/plugin-stores-common';

/**
 * Calls `refresh` whenever the stores backend signals a change on `channel`. Only when the
 * app has no signals does it poll instead, every `pollIntervalMs` (null: not at all), and only
 * while `storeplane.polling.enabled` is not false.
 */
export function useRefreshOnSignal(
  channel: string,
  refresh: () => void,
  pollIntervalMs: number | null,
): void {
  const { lastSignal, isSignalsAvailable } = useSignal<StoreSignal>(channel);
  const pollingEnabled =
    useApiHolder()
      .get(configApiRef)
      ?.getOptionalBoolean('storeplane.polling.enabled') ?? true;

  const handled = useRef(lastSignal);
  useEffect(() => {
    if (lastSignal && lastSignal !== handled.current) {
      handled.current = lastSignal;
      refresh();
    }
  }, [lastSignal, refresh]);

  useInterval(
    refresh,
    !isSignalsAvailable && pollingEnabled ? pollIntervalMs : null,
  );
}
