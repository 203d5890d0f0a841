import { act, renderHook, waitFor } from '@testing-library/react';
import { PropsWithChildren } from 'react';
import {
  mockApis,
  TestApiProvider,
  TestApiProviderProps,
} from '@backstage/test-utils';
import { StoreSignal } from '@storeplane/plugin-stores-common';
import { configApiRef } from '@backstage/core-plugin-api';
import { signalApiRef, SignalApi } from '@backstage/plugin-signals-react';
import { ResponseError } from '@backstage/errors';
import { storesApiRef, StoresApi } from '../api';
import {
  makeReadyStore,
  makeStore,
  STORE_ID,
} from '@internal/stores-test-utils/store';
import {
  SETTLED_STORE_POLL_INTERVAL_MS,
  STORE_POLL_INTERVAL_MS,
  useStore,
} from './useStore';

/** A signal API whose channels the test publishes on. */
function fakeSignals() {
  const subscribers = new Map<string, Array<(message: StoreSignal) => void>>();
  const api: SignalApi = {
    subscribe(channel, onMessage) {
      const subscriber = onMessage as unknown as (message: StoreSignal) => void;
      subscribers.set(channel, [
        ...(subscribers.get(channel) ?? []),
        subscriber,
      ]);
      return {
        unsubscribe: () =>
          subscribers.set(
            channel,
            (subscribers.get(channel) ?? []).filter(s => s !== subscriber),
          ),
      };
    },
  };
  const publish = (channel: string) =>
    act(() => {
      for (const subscriber of subscribers.get(channel) ?? [])
        subscriber({ at: Date.now() });
    });
  return { api, publish, subscribers };
}

function renderUseStore(
  storesApi: Partial<StoresApi>,
  options: { signals?: SignalApi; polling?: boolean } = {},
) {
  const apis: TestApiProviderProps<any>['apis'] = [
    [storesApiRef, storesApi],
    ...(options.signals ? [[signalApiRef, options.signals] as const] : []),
    ...(options.polling !== undefined
      ? [
          [
            configApiRef,
            mockApis.config({
              data: { storeplane: { polling: { enabled: options.polling } } },
            }),
          ] as const,
        ]
      : []),
  ];
  const wrapper = ({ children }: PropsWithChildren<{}>) => (
    <TestApiProvider apis={apis}>{children}</TestApiProvider>
  );
  return renderHook(() => useStore(STORE_ID, { withEvents: true }), {
    wrapper,
  });
}

async function advance(ms: number) {
  await act(async () => {
    jest.advanceTimersByTime(ms);
  });
}

describe('useStore', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('without signals, polls while Provisioning and slows down once the store is Ready', async () => {
    const getStore = jest
      .fn()
      .mockResolvedValueOnce(makeStore({ step: 'secret' }))
      .mockResolvedValueOnce(makeStore({ step: 'health' }))
      .mockResolvedValue(makeReadyStore());
    const getStoreEvents = jest.fn().mockResolvedValue({ items: [] });
    const { result } = renderUseStore({ getStore, getStoreEvents });

    await waitFor(() => expect(result.current.store?.step).toBe('secret'));
    expect(getStore).toHaveBeenCalledTimes(1);

    await advance(STORE_POLL_INTERVAL_MS);
    await waitFor(() => expect(result.current.store?.step).toBe('health'));

    await advance(STORE_POLL_INTERVAL_MS);
    await waitFor(() => expect(result.current.store?.status).toBe('Ready'));
    expect(getStore).toHaveBeenCalledTimes(3);
    expect(getStoreEvents).toHaveBeenCalledTimes(3);

    await advance(STORE_POLL_INTERVAL_MS * 10);
    expect(getStore).toHaveBeenCalledTimes(3);
    // A Ready store may still turn Degraded: a slow poll notices.
    await advance(SETTLED_STORE_POLL_INTERVAL_MS);
    expect(getStore).toHaveBeenCalledTimes(4);
  });

  it('with signals, re-reads the store on each signal of its channel and never polls', async () => {
    const signals = fakeSignals();
    const getStore = jest
      .fn()
      .mockResolvedValueOnce(makeStore({ step: 'secret' }))
      .mockResolvedValue(makeReadyStore({ status: 'Degraded' }));
    const { result } = renderUseStore(
      { getStore, getStoreEvents: jest.fn().mockResolvedValue({ items: [] }) },
      { signals: signals.api },
    );
    await waitFor(() => expect(result.current.store?.step).toBe('secret'));
    await advance(SETTLED_STORE_POLL_INTERVAL_MS * 2);
    expect(getStore).toHaveBeenCalledTimes(1);

    signals.publish('storeplane:stores');
    expect(getStore).toHaveBeenCalledTimes(1);
    signals.publish(`storeplane:store:${STORE_ID}`);
    await waitFor(() => expect(result.current.store?.status).toBe('Degraded'));
    expect(getStore).toHaveBeenCalledTimes(2);
  });

  it('does not poll when storeplane.polling.enabled is false, even without signals', async () => {
    const getStore = jest.fn().mockResolvedValue(makeStore({ step: 'secret' }));
    const { result } = renderUseStore(
      { getStore, getStoreEvents: jest.fn().mockResolvedValue({ items: [] }) },
      { polling: false },
    );
    await waitFor(() => expect(result.current.store?.step).toBe('secret'));
    await advance(SETTLED_STORE_POLL_INTERVAL_MS * 2);
    expect(getStore).toHaveBeenCalledTimes(1);
  });

  it('polls a Failed store only slowly', async () => {
    const getStore = jest
      .fn()
      .mockResolvedValue(makeStore({ status: 'Failed', lastError: 'boom' }));
    const { result } = renderUseStore({
      getStore,
      getStoreEvents: jest.fn().mockResolvedValue({ items: [] }),
    });
    await waitFor(() => expect(result.current.store?.status).toBe('Failed'));
    await advance(STORE_POLL_INTERVAL_MS * 5);
    expect(getStore).toHaveBeenCalledTimes(1);
  });

  it('keeps the last known store when a poll fails, and stops once a Deleting store is gone', async () => {
    const gone = Object.assign(new Error('No store'), {
      name: 'ResponseError',
      statusCode: 404,
    }) as ResponseError;
    const getStore = jest
      .fn()
      .mockResolvedValueOnce(
        makeStore({ status: 'Deleting', step: 'helmUninstall' }),
      )
      .mockRejectedValueOnce(new TypeError('Failed to fetch'))
      .mockRejectedValue(gone);
    const { result } = renderUseStore({
      getStore,
      getStoreEvents: jest.fn().mockResolvedValue({ items: [] }),
    });
    await waitFor(() => expect(result.current.store?.status).toBe('Deleting'));

    await advance(STORE_POLL_INTERVAL_MS);
    await waitFor(() =>
      expect(result.current.error?.message).toBe('Failed to fetch'),
    );
    expect(result.current.store?.status).toBe('Deleting');

    await advance(STORE_POLL_INTERVAL_MS);
    await waitFor(() => expect(result.current.error).toBe(gone));

    await advance(STORE_POLL_INTERVAL_MS * 5);
    expect(getStore).toHaveBeenCalledTimes(3);
  });
});
