import { useEffect, useRef } from 'react';
import useInterval from 'react-use/esm/useInterval';
import { configApiRef, useApiHolder } from '@backstage/core-plugin-api';
import { useSignal } from '@backstage/plugin-signals-react';
import { StoreSignal } from '@storeplane/plugin-stores-common';

/**
 * Calls `refresh` whenever the stores backend signals a change on `channel`: every signal, even
 * while an earlier refresh is still in flight, since that one may have read the store before
 * the change. Only when the app has no signals does it poll instead, calling `poll` (default
 * `refresh`) every `pollIntervalMs` (null: not at all), and only while
 * `storeplane.polling.enabled` is not false.
 */
export function useRefreshOnSignal(
  channel: string,
  refresh: () => void,
  pollIntervalMs: number | null,
  poll: () => void = refresh,
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
    poll,
    !isSignalsAvailable && pollingEnabled ? pollIntervalMs : null,
  );
}
