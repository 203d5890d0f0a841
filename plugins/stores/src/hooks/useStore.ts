import { useCallback, useEffect, useRef, useState } from 'react';
import useInterval from 'react-use/esm/useInterval';
import useMountedState from 'react-use/esm/useMountedState';
import { useApi } from '@backstage/core-plugin-api';
import { Store, StoreEvent } from '@storeplane/plugin-stores-common';
import { storesApiRef } from '../api';

/** How often a store is refreshed while the reconciler is working on it. */
export const STORE_POLL_INTERVAL_MS = 5000;

export interface StoreState {
  store?: Store;
  events?: StoreEvent[];
  /** The last failed refresh; the last good store stays visible next to it. */
  error?: Error;
  loading: boolean;
  refresh: () => Promise<void>;
}

/** A store is only worth polling while the reconciler is still changing it. */
export function isStoreSettling(store: Store | undefined): boolean {
  return store?.status === 'Provisioning' || store?.status === 'Deleting';
}

/**
 * Loads a store (and optionally its events) and keeps it fresh while it is Provisioning or
 * Deleting. Polling stops once the store is Ready or Failed, or when the store is gone.
 */
export function useStore(
  storeId: string,
  options: { withEvents?: boolean } = {},
): StoreState {
  const { withEvents = false } = options;
  const storesApi = useApi(storesApiRef);
  const isMounted = useMountedState();
  const latestRequest = useRef(0);
  const inFlight = useRef(0);
  const [state, setState] = useState<Omit<StoreState, 'refresh'>>({
    loading: true,
  });

  const refresh = useCallback(async () => {
    // Only the newest request may write, so a slow poll cannot undo what an action just showed.
    const request = ++latestRequest.current;
    inFlight.current += 1;
    try {
      const [store, events] = await Promise.all([
        storesApi.getStore(storeId),
        withEvents
          ? storesApi.getStoreEvents(storeId).then(r => r.items)
          : Promise.resolve(undefined),
      ]);
      if (isMounted() && request === latestRequest.current) {
        setState({ store, events, loading: false });
      }
    } catch (error) {
      if (isMounted() && request === latestRequest.current) {
        setState(previous => ({
          ...previous,
          error: error as Error,
          loading: false,
        }));
      }
    } finally {
      inFlight.current -= 1;
    }
  }, [storesApi, storeId, withEvents, isMounted]);

  // A slow backend must not pile up requests behind the poll timer.
  const poll = useCallback(() => {
    if (inFlight.current === 0) refresh();
  }, [refresh]);

  useEffect(() => {
    setState({ loading: true });
    refresh();
  }, [refresh]);

  const gone = (state.error as { statusCode?: number })?.statusCode === 404;
  useInterval(
    poll,
    isStoreSettling(state.store) && !gone ? STORE_POLL_INTERVAL_MS : null,
  );

  return { ...state, refresh };
}
