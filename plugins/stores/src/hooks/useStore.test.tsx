import { act, renderHook, waitFor } from '@testing-library/react';
import { PropsWithChildren } from 'react';
import { TestApiProvider } from '@backstage/test-utils';
import { ResponseError } from '@backstage/errors';
import { storesApiRef, StoresApi } from '../api';
import {
  makeReadyStore,
  makeStore,
  STORE_ID,
} from '@internal/stores-test-utils/store';
import { STORE_POLL_INTERVAL_MS, useStore } from './useStore';

function renderUseStore(storesApi: Partial<StoresApi>) {
  const wrapper = ({ children }: PropsWithChildren<{}>) => (
    <TestApiProvider apis={[[storesApiRef, storesApi]]}>
      {children}
    </TestApiProvider>
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

  it('polls while Provisioning and stops once the store is Ready', async () => {
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
  });

  it('does not poll a Failed store', async () => {
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
