import { setupServer } from 'msw/node';
import { mockApis, registerMswTestHooks } from '@backstage/test-utils';
import { StoresClient } from '@storeplane/plugin-stores-common';

/** Where the tests' stores backend answers (the discovery API's base URL + /api/stores). */
export const STORES_BASE_URL = 'http://localhost:7007/api/stores';

/**
 * An msw server standing in for the stores backend, started and reset around each test of
 * the calling file, and the real StoresClient talking to it.
 */
export function setupStoresBackend() {
  const server = setupServer();
  registerMswTestHooks(server);
  const storesApi = new StoresClient({
    discoveryApi: mockApis.discovery({ baseUrl: 'http://localhost:7007' }),
    // msw patches the global fetch when a test starts, so look it up on each call.
    fetchApi: { fetch: (input, init) => fetch(input, init) },
  });
  return { server, storesApi };
}
