import { ResponseError } from '@backstage/errors';
import { CreateStoreRequest } from './schemas';
import {
  Store,
  StoreCredentials,
  StoreEngineInfo,
  StoreEvent,
  StoreLinks,
  StoreList,
  StorePlan,
  StoreStatus,
  StoreWorkloads,
} from './types';

/**
 * The parts of Backstage's discovery and fetch APIs that the client needs.
 *
 * @public
 */
export interface StoresClientOptions {
  discoveryApi: { getBaseUrl(pluginId: string): Promise<string> };
  fetchApi?: { fetch: typeof fetch };
}

/**
 * Per-call options; `token` is needed where fetchApi does not add one (backend callers).
 *
 * @public
 */
export interface StoresRequestOptions {
  token?: string;
  signal?: AbortSignal;
}

/**
 * Filters and paging of `StoresClient.listStores`.
 *
 * @public
 */
export interface ListStoresOptions {
  owner?: string;
  entityRef?: string;
  status?: StoreStatus;
  offset?: number;
  limit?: number;
}

/**
 * Typed client of the `stores` REST API, usable from the frontend and from other backend plugins.
 *
 * @public
 */
export class StoresClient {
  private readonly discoveryApi: StoresClientOptions['discoveryApi'];
  private readonly fetchFn: typeof fetch;

  constructor(options: StoresClientOptions) {
    this.discoveryApi = options.discoveryApi;
    this.fetchFn = options.fetchApi?.fetch ?? fetch;
  }

  createStore(
    body: CreateStoreRequest,
    options?: StoresRequestOptions,
  ): Promise<Store> {
    return this.request('POST', '/stores', options, body);
  }

  listStores(
    query: ListStoresOptions = {},
    options?: StoresRequestOptions,
  ): Promise<StoreList> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) params.set(key, String(value));
    }
    const search = params.toString();
    return this.request('GET', `/stores${search ? `?${search}` : ''}`, options);
  }

  getStore(id: string, options?: StoresRequestOptions): Promise<Store> {
    return this.request('GET', `/stores/${encodeURIComponent(id)}`, options);
  }

  getStoreEvents(
    id: string,
    options?: StoresRequestOptions,
  ): Promise<{ items: StoreEvent[] }> {
    return this.request(
      'GET',
      `/stores/${encodeURIComponent(id)}/events`,
      options,
    );
  }

  getStoreLinks(
    id: string,
    options?: StoresRequestOptions,
  ): Promise<StoreLinks> {
    return this.request(
      'GET',
      `/stores/${encodeURIComponent(id)}/links`,
      options,
    );
  }

  /** Pods, Deployments/StatefulSets and volume claims of the store's namespace. */
  getStoreWorkloads(
    id: string,
    options?: StoresRequestOptions,
  ): Promise<StoreWorkloads> {
    return this.request(
      'GET',
      `/stores/${encodeURIComponent(id)}/workloads`,
      options,
    );
  }

  getStoreCredentials(
    id: string,
    options?: StoresRequestOptions,
  ): Promise<StoreCredentials> {
    return this.request(
      'GET',
      `/stores/${encodeURIComponent(id)}/credentials`,
      options,
    );
  }

  retryStore(id: string, options?: StoresRequestOptions): Promise<Store> {
    return this.request(
      'POST',
      `/stores/${encodeURIComponent(id)}/retry`,
      options,
    );
  }

  deleteStore(id: string, options?: StoresRequestOptions): Promise<Store> {
    return this.request('DELETE', `/stores/${encodeURIComponent(id)}`, options);
  }

  listPlans(options?: StoresRequestOptions): Promise<{ items: StorePlan[] }> {
    return this.request('GET', '/plans', options);
  }

  listEngines(
    options?: StoresRequestOptions,
  ): Promise<{ items: StoreEngineInfo[] }> {
    return this.request('GET', '/engines', options);
  }

  private async request<T>(
    method: string,
    path: string,
    options: StoresRequestOptions | undefined,
    body?: unknown,
  ): Promise<T> {
    const baseUrl = await this.discoveryApi.getBaseUrl('stores');
    const headers: Record<string, string> = {};
    if (options?.token) headers.Authorization = `Bearer ${options.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await this.fetchFn(`${baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: options?.signal,
      cache: 'no-store',
    });
    if (!response.ok) {
      throw await ResponseError.fromResponse(response);
    }
    return (await response.json()) as T;
  }
}
