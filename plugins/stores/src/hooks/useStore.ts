import { useCallback, useEffect, useRef, useState } from 'react';
import useMountedState from 'react-use/esm/useMountedState';
import { useApi } from '@backstage/core-plugin-api';
import {
  Store,
  StoreEvent,
  storeSignalChannel,
} from '@storeplane/plugin-stores-common';
import { storesApiRef } from '../api';
import { useRefreshOnSignal } from './useRefreshOnSignal';

/** Without signals: how often a store is polled while the reconciler is working on it. */
export const STORE_POLL_INTERVAL_MS = 5000;

/** Without signals: how often a settled store is polled (a Ready store may turn Degraded). */
export const SETTLED_STORE_POLL_INTERVAL_MS = 60_000;

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
 * Loads a store (and optionally its events) and keeps it fresh: re-read on every signal the
 * stores backend sends for it. Without signals it polls: every 5 s while Provisioning or
 * Deleting, every minute once settled, not at all once the store is gone.
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
  let pollIntervalMs: number | null = null;
  if (!gone) {
    pollIntervalMs = isStoreSettling(state.store)
      ? STORE_POLL_INTERVAL_MS
      : SETTLED_STORE_POLL_INTERVAL_MS;
  }
  useRefreshOnSignal(
    storeSignalChannel(storeId),
    refresh,
    pollIntervalMs,
    poll,
  );

  return { ...state, refresh };
}
