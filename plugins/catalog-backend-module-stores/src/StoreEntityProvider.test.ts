import {
  mockCredentials,
  mockServices,
  registerMswTestHooks,
} from '@backstage/backend-test-utils';
import { EntityProviderConnection } from '@backstage/plugin-catalog-node';
import {
  Store,
  StoresClient,
  STORES_EVENTS_TOPIC,
} from '@storeplane/plugin-stores-common';
import { makeReadyStore } from '@internal/stores-test-utils/store';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { StoreEntityProvider } from './StoreEntityProvider';

const BASE_URL = 'http://localhost:7007/api/stores';

describe('StoreEntityProvider', () => {
  const server = setupServer();
  registerMswTestHooks(server);

  let stores: Store[];
  let authorizations: string[];

  function pageOfTwo(request: Request) {
    const cursor = new URL(request.url).searchParams.get('cursor');
    const start = cursor === null ? 0 : Number(cursor);
    return {
      items: stores.slice(start, start + 2),
      totalCount: stores.length - start,
      offset: 0,
      limit: 2,
      nextCursor: start + 2 < stores.length ? String(start + 2) : null,
    };
  }
  let provider: StoreEntityProvider;
  let connection: jest.Mocked<EntityProviderConnection>;
  let scheduler: ReturnType<typeof mockServices.scheduler.mock>;
  let events: ReturnType<typeof mockServices.events>;
  let logger: ReturnType<typeof mockServices.logger.mock>;

  beforeEach(async () => {
    stores = [
      makeReadyStore({ id: 'alpha-aaaaa' }),
      makeReadyStore({
        id: 'beta-bbbbb',
        status: 'Provisioning',
        step: 'workloads',
      }),
      makeReadyStore({
        id: 'gamma-ccccc',
        status: 'Failed',
        lastError: 'boom',
      }),
    ];
    authorizations = [];
    server.use(
      // Pages of two whatever the client asks for, to prove the provider pages through by
      // cursor (here the next index: opaque to the client, as the backend's is).
      http.get(`${BASE_URL}/stores`, ({ request }) => {
        authorizations.push(request.headers.get('authorization')!);
        return HttpResponse.json(pageOfTwo(request));
      }),
      http.get(`${BASE_URL}/stores/:id`, ({ request, params }) => {
        authorizations.push(request.headers.get('authorization')!);
        const store = stores.find(s => s.id === params.id);
        return store
          ? HttpResponse.json(store)
          : HttpResponse.json(
              { error: { name: 'NotFoundError', message: 'Store not found' } },
              { status: 404 },
            );
      }),
    );

    connection = { applyMutation: jest.fn(), refresh: jest.fn() };
    scheduler = mockServices.scheduler.mock();
    events = mockServices.events();
    logger = mockServices.logger.mock();
    logger.child.mockReturnValue(logger);
    provider = new StoreEntityProvider({
      client: new StoresClient({
        discoveryApi: mockServices.discovery.mock({
          getBaseUrl: async () => BASE_URL,
        }),
      }),
      auth: mockServices.auth({ pluginId: 'catalog' }),
      logger,
      scheduler,
      events,
    });
    await provider.connect(connection);
  });

  const entityNames = (mutation: any) =>
    mutation.entities.map((e: any) => e.entity.metadata.name);

  it('is named storeplane-stores', () => {
    expect(provider.getProviderName()).toBe('storeplane-stores');
  });

  it('schedules a global full sync every 6 hours and an incremental one every minute by default', () => {
    expect(scheduler.scheduleTask).toHaveBeenCalledWith(
      expect.objectContaining({
        id: 'storeplane-stores:full-sync',
        frequency: { hours: 6 },
        scope: 'global',
      }),
    );
    expect(scheduler.scheduleTask).toHaveBeenCalledWith(
      expect.objectContaining({
        id: 'storeplane-stores:incremental-sync',
        frequency: { minutes: 1 },
        scope: 'global',
      }),
    );
  });

  describe('incremental sync', () => {
    let asked: Array<{ path: string; since: string | null }>;
    let removed: Array<{ id: string; deletedAt: string }>;

    beforeEach(() => {
      asked = [];
      removed = [];
      // Pages of one, so both lists are paged through.
      server.use(
        http.get(`${BASE_URL}/stores`, ({ request }) => {
          const params = new URL(request.url).searchParams;
          asked.push({ path: 'stores', since: params.get('updatedSince') });
          const since = Date.parse(params.get('updatedSince')!);
          const changed = stores.filter(s => Date.parse(s.updatedAt) >= since);
          const start = Number(params.get('cursor') ?? 0);
          return HttpResponse.json({
            items: changed.slice(start, start + 1),
            totalCount: changed.length - start,
            offset: 0,
            limit: 1,
            nextCursor: start + 1 < changed.length ? String(start + 1) : null,
          });
        }),
        http.get(`${BASE_URL}/deleted-stores`, ({ request }) => {
          const params = new URL(request.url).searchParams;
          asked.push({
            path: 'deleted-stores',
            since: params.get('deletedSince'),
          });
          const since = Date.parse(params.get('deletedSince')!);
          const gone = removed.filter(r => Date.parse(r.deletedAt) >= since);
          const start = Number(params.get('cursor') ?? 0);
          return HttpResponse.json({
            items: gone.slice(start, start + 1),
            nextCursor: start + 1 < gone.length ? String(start + 1) : null,
          });
        }),
      );
    });

    const minutesAgo = (minutes: number) =>
      new Date(Date.now() - minutes * 60_000).toISOString();

    it('applies only the stores changed and removed since its last look', async () => {
      stores[0].updatedAt = minutesAgo(60);
      stores[1].updatedAt = minutesAgo(2);
      stores[2].updatedAt = minutesAgo(1);
      removed.push(
        { id: 'old-zzzzz', deletedAt: minutesAgo(90) },
        { id: 'gone-eeeee', deletedAt: minutesAgo(3) },
        { id: 'gone-fffff', deletedAt: minutesAgo(1) },
      );

      await provider.syncChangedStores();

      expect(connection.applyMutation).toHaveBeenCalledTimes(1);
      const mutation: any = connection.applyMutation.mock.calls[0][0];
      expect(mutation.type).toBe('delta');
      expect(mutation.added.map((e: any) => e.entity.metadata.name)).toEqual([
        'store-beta-bbbbb',
        'store-gamma-ccccc',
      ]);
      expect(mutation.removed).toEqual([
        {
          entityRef: 'resource:default/store-gone-eeeee',
          locationKey: 'storeplane-stores',
        },
        {
          entityRef: 'resource:default/store-gone-fffff',
          locationKey: 'storeplane-stores',
        },
      ]);
      // Without a sync on this replica yet: 15 minutes back, plus 5 for clocks.
      const since = Date.parse(asked[0].since!);
      expect(Date.now() - since).toBeGreaterThanOrEqual(20 * 60_000);
      expect(Date.now() - since).toBeLessThan(21 * 60_000);
      expect(asked.map(a => a.path)).toEqual([
        'stores',
        'stores',
        'deleted-stores',
        'deleted-stores',
      ]);
    });

    it('asks from its last sync less the clock margin, and applies nothing when nothing changed', async () => {
      for (const store of stores) store.updatedAt = minutesAgo(60);
      await provider.syncAllStores();
      connection.applyMutation.mockClear();
      asked = [];

      await provider.syncChangedStores();

      expect(connection.applyMutation).not.toHaveBeenCalled();
      const since = Date.parse(asked[0].since!);
      expect(Date.now() - since).toBeGreaterThanOrEqual(5 * 60_000);
      expect(Date.now() - since).toBeLessThan(6 * 60_000);
      expect(asked[1]).toEqual({
        path: 'deleted-stores',
        since: asked[0].since,
      });
    });

    it('treats a store removed between its two reads as removed', async () => {
      stores[0].updatedAt = minutesAgo(1);
      removed.push({ id: stores[0].id, deletedAt: minutesAgo(0) });
      await provider.syncChangedStores();
      expect(connection.applyMutation).toHaveBeenCalledWith({
        type: 'delta',
        added: [],
        removed: [
          {
            entityRef: 'resource:default/store-alpha-aaaaa',
            locationKey: 'storeplane-stores',
          },
        ],
      });
    });

    it('applies nothing and keeps its window when a read fails, so the next run covers it', async () => {
      for (const store of stores) store.updatedAt = minutesAgo(60);
      const firstStart = Date.now();
      await provider.syncChangedStores();
      server.use(
        http.get(
          `${BASE_URL}/deleted-stores`,
          () =>
            HttpResponse.json(
              { error: { name: 'Error', message: 'db down' } },
              { status: 500 },
            ),
          { once: true },
        ),
      );
      stores[0].updatedAt = minutesAgo(0);
      await expect(provider.syncChangedStores()).rejects.toMatchObject({
        statusCode: 500,
      });
      expect(connection.applyMutation).not.toHaveBeenCalled();

      asked = [];
      await provider.syncChangedStores();
      // From the start of the last run that succeeded, not of the one that failed.
      const since = Date.parse(asked[0].since!);
      expect(since).toBeGreaterThanOrEqual(firstStart - 5 * 60_000);
      expect(since).toBeLessThanOrEqual(firstStart - 5 * 60_000 + 1000);
      expect(connection.applyMutation).toHaveBeenCalledWith(
        expect.objectContaining({
          added: [
            expect.objectContaining({
              entity: expect.objectContaining({
                metadata: expect.objectContaining({
                  name: 'store-alpha-aaaaa',
                }),
              }),
            }),
          ],
        }),
      );
    });
  });

  it('replaces all store entities in a full sync, page by page', async () => {
    const { fn } = scheduler.scheduleTask.mock.calls[0][0];
    await fn(new AbortController().signal);

    expect(connection.applyMutation).toHaveBeenCalledTimes(1);
    const mutation = connection.applyMutation.mock.calls[0][0];
    expect(mutation.type).toBe('full');
    expect(entityNames(mutation)).toEqual([
      'store-alpha-aaaaa',
      'store-beta-bbbbb',
      'store-gamma-ccccc',
    ]);
    expect((mutation as any).entities[0].locationKey).toBe('storeplane-stores');
    expect(authorizations).toHaveLength(2);
    expect(authorizations[0]).toBe(
      `Bearer ${mockCredentials.service.token({
        onBehalfOf: mockCredentials.service('plugin:catalog'),
        targetPluginId: 'stores',
      })}`,
    );
  });

  it('applies an empty full sync when there are no stores', async () => {
    stores = [];
    await provider.syncAllStores();
    expect(connection.applyMutation).toHaveBeenCalledWith({
      type: 'full',
      entities: [],
    });
  });

  it.each([
    [403, 'NotAllowedError', 'You may not list stores'],
    [500, 'Error', 'database is down'],
  ] as const)(
    'never reads a refused or failed list (%i) as "no stores": the sync fails and removes nothing',
    async (status, name, message) => {
      server.use(
        http.get(`${BASE_URL}/stores`, () =>
          HttpResponse.json({ error: { name, message } }, { status }),
        ),
      );
      await expect(provider.syncAllStores()).rejects.toMatchObject({
        statusCode: status,
      });
      expect(connection.applyMutation).not.toHaveBeenCalled();
    },
  );

  it('removes nothing when a later page of the list fails', async () => {
    server.use(
      http.get(`${BASE_URL}/stores`, ({ request }) =>
        new URL(request.url).searchParams.has('cursor')
          ? HttpResponse.error()
          : HttpResponse.json(pageOfTwo(request)),
      ),
    );
    await expect(provider.syncAllStores()).rejects.toThrow();
    expect(connection.applyMutation).not.toHaveBeenCalled();
  });

  it('removes nothing when the stores API is too old to page by cursor', async () => {
    server.use(
      http.get(`${BASE_URL}/stores`, ({ request }) => {
        const { nextCursor: _, ...withoutCursor } = pageOfTwo(request);
        return HttpResponse.json(withoutCursor);
      }),
    );
    await expect(provider.syncAllStores()).rejects.toThrow(
      /without nextCursor/,
    );
    expect(connection.applyMutation).not.toHaveBeenCalled();
  });

  it('adds or updates one store when its change event arrives', async () => {
    stores.push(
      makeReadyStore({
        id: 'delta-ddddd',
        status: 'Provisioning',
        step: 'secret',
      }),
    );

    await events.publish({
      topic: STORES_EVENTS_TOPIC,
      eventPayload: { storeId: 'delta-ddddd', status: 'Provisioning' },
    });

    expect(connection.applyMutation).toHaveBeenCalledWith({
      type: 'delta',
      added: [
        expect.objectContaining({
          entity: expect.objectContaining({
            metadata: expect.objectContaining({
              name: 'store-delta-ddddd',
              labels: {
                'storeplane.io/status': 'provisioning',
                'storeplane.io/plan': 'small',
              },
            }),
          }),
        }),
      ],
      removed: [],
    });
  });

  it('removes a store on a Deleted event without asking the API', async () => {
    await events.publish({
      topic: STORES_EVENTS_TOPIC,
      eventPayload: { storeId: 'alpha-aaaaa', status: 'Deleted' },
    });

    expect(authorizations).toHaveLength(0);
    expect(connection.applyMutation).toHaveBeenCalledWith({
      type: 'delta',
      added: [],
      removed: [
        {
          entityRef: 'resource:default/store-alpha-aaaaa',
          locationKey: 'storeplane-stores',
        },
      ],
    });
  });

  it('removes a store that the API no longer knows', async () => {
    await events.publish({
      topic: STORES_EVENTS_TOPIC,
      eventPayload: { storeId: 'gone-eeeee', status: 'Deleting' },
    });

    expect(connection.applyMutation).toHaveBeenCalledWith({
      type: 'delta',
      added: [],
      removed: [
        {
          entityRef: 'resource:default/store-gone-eeeee',
          locationKey: 'storeplane-stores',
        },
      ],
    });
  });

  it('ignores malformed events and survives API errors', async () => {
    await events.publish({
      topic: STORES_EVENTS_TOPIC,
      eventPayload: { status: 'Ready' },
    });
    expect(logger.warn).toHaveBeenCalledWith(
      'Ignored a storeplane.stores event without a storeId and status',
    );

    server.use(
      http.get(`${BASE_URL}/stores/:id`, () =>
        HttpResponse.json(
          { error: { name: 'Error', message: 'db down' } },
          { status: 500 },
        ),
      ),
    );
    await events.publish({
      topic: STORES_EVENTS_TOPIC,
      eventPayload: { storeId: 'alpha-aaaaa', status: 'Ready' },
    });
    expect(connection.applyMutation).not.toHaveBeenCalled();
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining(
        'Could not update the catalog entity of store alpha-aaaaa; the next sync will',
      ),
    );
  });
});
