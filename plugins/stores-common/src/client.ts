import { ResponseError } from '@backstage/errors';
import {
  DefaultApiClient,
  ListDeletedStores,
  ListStores,
  TypedResponse,
} from './schema/openapi/generated';
import {
  ContentSuggestion,
  ContentSuggestionRequest,
  CreateRolloutRequest,
  CreateStoreRequest,
  DeletedStoreList,
  Rollout,
  RolloutDetails,
  RolloutList,
  Store,
  StoreBackup,
  StoreBackupList,
  StoreCredentials,
  StoreDomain,
  StoreEngineList,
  StoreEventList,
  StoreLinks,
  StoreList,
  StorePlanList,
  StoreWorkloads,
  StoreUsage,
  UpdateStoreRequest,
  PlanCostList,
  OwnerCostList,
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

export type { ListDeletedStores, ListStores } from './schema/openapi/generated';

/**
 * Filters and page of `GET /stores`.
 *
 * @public
 */
export type ListStoresOptions = ListStores['query'];

/**
 * Filters of `GET /costs/by-owner`: those of `GET /stores` that select stores.
 *
 * @public
 */
export type ListCostsByOwnerOptions = Pick<
  ListStoresOptions,
  'owner' | 'status'
>;

/**
 * Time and page of `GET /deleted-stores`.
 *
 * @public
 */
export type ListDeletedStoresOptions = ListDeletedStores['query'];

/**
 * Page of `GET /stores/:id/events`: the `nextCursor` of the previous page and a page size.
 *
 * @public
 */
export interface StoreEventsPageOptions {
  /** The `nextCursor` of the previous page. */
  cursor?: string;
  /** Events per page, 1 to 500 (default 500). */
  limit?: number;
}

/**
 * Typed client of the `stores` REST API, usable from the frontend and from other backend
 * plugins. The requests are the generated client's (from openapi.yaml); this class turns an
 * error status into a ResponseError and returns the parsed body.
 *
 * @public
 */
export class StoresClient {
  private readonly discoveryApi: StoresClientOptions['discoveryApi'];
  private readonly fetchApi: { fetch: typeof fetch };

  constructor(options: StoresClientOptions) {
    this.discoveryApi = options.discoveryApi;
    this.fetchApi = options.fetchApi ?? {
      fetch: (input, init) => fetch(input, init),
    };
  }

  createStore(
    body: CreateStoreRequest,
    options?: StoresRequestOptions,
  ): Promise<Store> {
    return this.call(options, api =>
      api.createStore({ body }, { token: options?.token }),
    );
  }

  listStores(
    query: ListStoresOptions = {},
    options?: StoresRequestOptions,
  ): Promise<StoreList> {
    return this.call(options, api =>
      api.listStores({ query }, { token: options?.token }),
    );
  }

  /** Stores removed since `query.deletedSince`, for an incremental sync. */
  listDeletedStores(
    query: ListDeletedStoresOptions,
    options?: StoresRequestOptions,
  ): Promise<DeletedStoreList> {
    return this.call(options, api =>
      api.listDeletedStores({ query }, { token: options?.token }),
    );
  }

  getStore(id: string, options?: StoresRequestOptions): Promise<Store> {
    return this.call(options, api =>
      api.getStore({ path: { id } }, { token: options?.token }),
    );
  }

  /** The store's newest events; pass `page.cursor` (a previous `nextCursor`) for older ones. */
  getStoreEvents(
    id: string,
    options?: StoresRequestOptions,
    page: StoreEventsPageOptions = {},
  ): Promise<StoreEventList> {
    return this.call(options, api =>
      api.getStoreEvents(
        { path: { id }, query: page },
        { token: options?.token },
      ),
    );
  }

  getStoreLinks(
    id: string,
    options?: StoresRequestOptions,
  ): Promise<StoreLinks> {
    return this.call(options, api =>
      api.getStoreLinks({ path: { id } }, { token: options?.token }),
    );
  }

  /** Pods, Deployments/StatefulSets and volume claims of the store's namespace. */
  getStoreWorkloads(
    id: string,
    options?: StoresRequestOptions,
  ): Promise<StoreWorkloads> {
    return this.call(options, api =>
      api.getStoreWorkloads({ path: { id } }, { token: options?.token }),
    );
  }

  /** The store namespace's quota use and the monthly cost estimate of the store. */
  getStoreUsage(
    id: string,
    options?: StoresRequestOptions,
  ): Promise<StoreUsage> {
    return this.call(options, api =>
      api.getStoreUsage({ path: { id } }, { token: options?.token }),
    );
  }

  getStoreCredentials(
    id: string,
    options?: StoresRequestOptions,
  ): Promise<StoreCredentials> {
    return this.call(options, api =>
      api.getStoreCredentials({ path: { id } }, { token: options?.token }),
    );
  }

  retryStore(id: string, options?: StoresRequestOptions): Promise<Store> {
    return this.call(options, api =>
      api.retryStore({ path: { id } }, { token: options?.token }),
    );
  }

  /** Changes what the owner asked for (display name, plan); see `UpdateStoreRequest`. */
  updateStore(
    id: string,
    request: UpdateStoreRequest,
    options?: StoresRequestOptions,
  ): Promise<Store> {
    return this.call(options, api =>
      api.updateStore(
        { path: { id }, body: request },
        { token: options?.token },
      ),
    );
  }

  /** Upgrades a Ready store to the chart version the backend ships (rolled back if it fails its gates). */
  upgradeStore(id: string, options?: StoresRequestOptions): Promise<Store> {
    return this.call(options, api =>
      api.upgradeStore({ path: { id } }, { token: options?.token }),
    );
  }

  /** The store's custom domain and what its DNS check found. */
  getStoreDomain(
    id: string,
    options?: StoresRequestOptions,
  ): Promise<StoreDomain> {
    return this.call(options, api =>
      api.getStoreDomain({ path: { id } }, { token: options?.token }),
    );
  }

  /** Sets or replaces the store's custom domain (a Helm upgrade puts it on the Ingress). */
  setStoreDomain(
    id: string,
    domain: string,
    options?: StoresRequestOptions,
  ): Promise<StoreDomain> {
    return this.call(options, api =>
      api.setStoreDomain(
        { path: { id }, body: { domain } },
        { token: options?.token },
      ),
    );
  }

  /** Removes the store's custom domain; the store serves its platform host alone again. */
  removeStoreDomain(
    id: string,
    options?: StoresRequestOptions,
  ): Promise<StoreDomain> {
    return this.call(options, api =>
      api.removeStoreDomain({ path: { id } }, { token: options?.token }),
    );
  }

  /** Asks for a backup of a Ready store's database; the reconciler runs it (Pending at first). */
  requestBackup(
    storeId: string,
    options?: StoresRequestOptions,
  ): Promise<StoreBackup> {
    return this.call(options, api =>
      api.requestStoreBackup(
        { path: { id: storeId }, body: {} },
        { token: options?.token },
      ),
    );
  }

  /** The store's backups, newest first. */
  listBackups(
    storeId: string,
    options?: StoresRequestOptions,
  ): Promise<StoreBackupList> {
    return this.call(options, api =>
      api.listStoreBackups(
        { path: { id: storeId } },
        { token: options?.token },
      ),
    );
  }

  /**
   * A Succeeded backup's gzipped dump, with the file name the backend gives it. The whole file
   * is read into a Blob (the browser then saves it), so the request carries the caller's
   * Backstage token like every other call; a link could not.
   */
  async downloadBackup(
    storeId: string,
    backupId: string,
    options?: StoresRequestOptions,
  ): Promise<{ fileName: string; content: Blob }> {
    const response = await this.send(options, api =>
      api.downloadStoreBackup(
        { path: { id: storeId, backupId } },
        { token: options?.token },
      ),
    );
    const disposition = response.headers.get('Content-Disposition') ?? '';
    const fileName =
      /filename="([^"]+)"/.exec(disposition)?.[1] ??
      `${storeId}-${backupId}.sql.gz`;
    return { fileName, content: await response.blob() };
  }

  /**
   * Restores a Succeeded backup into the store's database (replacing its data); the store
   * becomes Restoring.
   */
  restoreBackup(
    storeId: string,
    backupId: string,
    options?: StoresRequestOptions,
  ): Promise<Store> {
    return this.call(options, api =>
      api.restoreStoreBackup(
        { path: { id: storeId, backupId }, body: {} },
        { token: options?.token },
      ),
    );
  }

  deleteStore(id: string, options?: StoresRequestOptions): Promise<Store> {
    return this.call(options, api =>
      api.deleteStore({ path: { id } }, { token: options?.token }),
    );
  }

  /** A title, tagline and three starter products for the store; saves nothing. */
  suggestStoreContent(
    id: string,
    options?: StoresRequestOptions,
  ): Promise<ContentSuggestion> {
    return this.call(options, api =>
      api.suggestStoreContent({ path: { id } }, { token: options?.token }),
    );
  }

  /** Suggestions for a store about to be created, e.g. to prefill its description. */
  suggestNewStoreContent(
    request: ContentSuggestionRequest,
    options?: StoresRequestOptions,
  ): Promise<ContentSuggestion> {
    return this.call(options, api =>
      api.suggestNewStoreContent({ body: request }, { token: options?.token }),
    );
  }

  listPlans(options?: StoresRequestOptions): Promise<StorePlanList> {
    return this.call(options, api =>
      api.listPlans({}, { token: options?.token }),
    );
  }

  /** Every engine's monthly estimate per plan at the configured prices (GET /plan-costs). */
  listPlanCosts(options?: StoresRequestOptions): Promise<PlanCostList> {
    return this.call(options, api =>
      api.listPlanCosts({}, { token: options?.token }),
    );
  }

  /**
   * The plan estimates added up per owner over every store the caller may list, with the
   * filters of {@link StoresClient.listStores} (GET /costs/by-owner).
   */
  listCostsByOwner(
    query: ListCostsByOwnerOptions = {},
    options?: StoresRequestOptions,
  ): Promise<OwnerCostList> {
    return this.call(options, api =>
      api.listCostsByOwner({ query }, { token: options?.token }),
    );
  }

  listEngines(options?: StoresRequestOptions): Promise<StoreEngineList> {
    return this.call(options, api =>
      api.listEngines({}, { token: options?.token }),
    );
  }

  /** Fleet rollouts, newest first (administrators in the shipped policy). */
  listRollouts(
    options?: StoresRequestOptions & { limit?: number },
  ): Promise<RolloutList> {
    return this.call(options, api =>
      api.listRollouts(
        { query: { limit: options?.limit } },
        { token: options?.token },
      ),
    );
  }

  /** Starts a fleet rollout to the chart version the backend ships. */
  createRollout(
    request: CreateRolloutRequest,
    options?: StoresRequestOptions,
  ): Promise<Rollout> {
    return this.call(options, api =>
      api.createRollout({ body: request }, { token: options?.token }),
    );
  }

  /** A rollout with its stores by wave and its latest events. */
  getRollout(
    rolloutId: string,
    options?: StoresRequestOptions,
  ): Promise<RolloutDetails> {
    return this.call(options, api =>
      api.getRollout({ path: { rolloutId } }, { token: options?.token }),
    );
  }

  /** Pauses, resumes or aborts a fleet rollout. */
  commandRollout(
    rolloutId: string,
    command: 'pause' | 'resume' | 'abort',
    options?: StoresRequestOptions,
  ): Promise<Rollout> {
    return this.call(options, api => {
      const request = { path: { rolloutId } };
      const init = { token: options?.token };
      if (command === 'pause') return api.pauseRollout(request, init);
      if (command === 'resume') return api.resumeRollout(request, init);
      return api.abortRollout(request, init);
    });
  }

  /**
   * The generated client takes no abort signal and lets the browser cache GETs, so each call
   * gets one whose fetch adds the caller's signal and `cache: 'no-store'` (a store's status
   * changes between two reads of the same URL).
   */
  private async call<T>(
    options: StoresRequestOptions | undefined,
    send: (api: DefaultApiClient) => Promise<TypedResponse<T>>,
  ): Promise<T> {
    return (await this.send(options, send)).json();
  }

  /** Sends one request; an error status becomes a ResponseError. */
  private async send<T>(
    options: StoresRequestOptions | undefined,
    send: (api: DefaultApiClient) => Promise<TypedResponse<T>>,
  ): Promise<TypedResponse<T>> {
    const api = new DefaultApiClient({
      discoveryApi: this.discoveryApi,
      fetchApi: {
        fetch: (input, init) =>
          this.fetchApi.fetch(input, {
            ...init,
            signal: options?.signal,
            cache: 'no-store',
          }),
      },
    });
    const response = await send(api);
    if (!response.ok) {
      throw await ResponseError.fromResponse(response as Response);
    }
    return response;
  }
}
