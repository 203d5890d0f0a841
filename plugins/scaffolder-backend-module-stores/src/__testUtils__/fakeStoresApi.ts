import { mockServices } from '@backstage/backend-test-utils';
import { ActionContext } from '@backstage/plugin-scaffolder-node';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { makeStore } from '@internal/stores-test-utils/store';
import { Store, StoreEvent, StorePlan } from '@storeplane/plugin-stores-common';
import { http, HttpResponse } from 'msw';

export const STORES_BASE_URL = 'http://localhost:7007/api/stores';

/** Discovery that points the stores client at the fake API. */
export const fakeDiscovery = () =>
  mockServices.discovery.mock({ getBaseUrl: async () => STORES_BASE_URL });

/** One scripted change, applied on the next `GET /stores/:id`. */
export interface StoreTimelineEntry {
  patch?: Partial<Store>;
  events?: Array<Pick<StoreEvent, 'type' | 'message'> & Partial<StoreEvent>>;
  /** The store is gone from this poll on. */
  gone?: boolean;
}

const notFound = (message: string) =>
  HttpResponse.json(
    {
      error: { name: 'NotFoundError', message },
      response: { statusCode: 404 },
    },
    { status: 404 },
  );

/**
 * An in-memory stand-in for the `stores` REST API. Every `GET /stores/:id` advances the
 * store along its scripted timeline, which is how tests drive provisioning.
 */
export class FakeStoresApi {
  readonly stores = new Map<string, Store>();
  readonly events = new Map<string, StoreEvent[]>();
  readonly timelines = new Map<string, StoreTimelineEntry[]>();
  readonly requests: Array<{
    method: string;
    path: string;
    authorization: string | null;
    body?: unknown;
  }> = [];
  plans: StorePlan[] = [
    {
      name: 'small',
      title: 'Small',
      description: 'For trying things out',
      cpu: '500m',
      memory: '512Mi',
      storage: '5Gi',
      replicas: 1,
    },
  ];
  /** Id the next created store gets. */
  nextId = 'summer-sale-x1y2z';
  private eventSeq = 0;

  addStore(store: Store, timeline: StoreTimelineEntry[] = []) {
    this.stores.set(store.id, store);
    this.events.set(store.id, []);
    this.timelines.set(store.id, timeline);
  }

  postsTo(path: string) {
    return this.requests.filter(r => r.method === 'POST' && r.path === path);
  }

  private record(request: Request, body?: unknown) {
    const url = new URL(request.url);
    this.requests.push({
      method: request.method,
      path: url.pathname.replace('/api/stores', '') + url.search,
      authorization: request.headers.get('authorization'),
      body,
    });
  }

  private advance(id: string) {
    const entry = this.timelines.get(id)?.shift();
    if (!entry) return;
    if (entry.gone) {
      this.stores.delete(id);
      return;
    }
    const store = this.stores.get(id)!;
    this.stores.set(id, { ...store, ...entry.patch });
    for (const event of entry.events ?? []) {
      this.events.get(id)!.unshift({
        id: ++this.eventSeq,
        storeId: id,
        createdAt: new Date().toISOString(),
        level: 'info',
        actor: null,
        ...event,
      });
    }
  }

  handlers() {
    return [
      http.post(`${STORES_BASE_URL}/stores`, async ({ request }) => {
        const body = (await request.json()) as Record<string, string>;
        this.record(request, body);
        const store = makeStore({
          id: this.nextId,
          step: 'guardrails',
          name: body.name,
          owner: body.owner,
          plan: body.plan ?? 'small',
          engine: body.engine,
        });
        this.stores.set(store.id, store);
        this.events.set(store.id, []);
        if (!this.timelines.has(store.id)) this.timelines.set(store.id, []);
        return HttpResponse.json(store, { status: 201 });
      }),
      http.get(`${STORES_BASE_URL}/stores`, ({ request }) => {
        this.record(request);
        const entityRef = new URL(request.url).searchParams.get('entityRef');
        const items = [...this.stores.values()].filter(
          s => !entityRef || s.entityRef === entityRef,
        );
        return HttpResponse.json({
          items,
          totalCount: items.length,
          offset: 0,
          limit: 50,
        });
      }),
      http.get(`${STORES_BASE_URL}/stores/:id`, ({ request, params }) => {
        this.record(request);
        const id = params.id as string;
        this.advance(id);
        const store = this.stores.get(id);
        return store
          ? HttpResponse.json(store)
          : notFound(`Store ${id} not found`);
      }),
      http.get(
        `${STORES_BASE_URL}/stores/:id/events`,
        ({ request, params }) => {
          this.record(request);
          const events = this.events.get(params.id as string);
          return events
            ? HttpResponse.json({ items: events })
            : notFound(`Store ${params.id} not found`);
        },
      ),
      http.delete(`${STORES_BASE_URL}/stores/:id`, ({ request, params }) => {
        this.record(request);
        const store = this.stores.get(params.id as string);
        if (!store) return notFound(`Store ${params.id} not found`);
        const deleting = {
          ...store,
          status: 'Deleting' as const,
          step: 'helmUninstall' as const,
        };
        this.stores.set(store.id, deleting);
        return HttpResponse.json(deleting, { status: 202 });
      }),
      http.get(`${STORES_BASE_URL}/plans`, ({ request }) => {
        this.record(request);
        return HttpResponse.json({ items: this.plans });
      }),
    ];
  }
}

/**
 * A scaffolder action context for tests. The test-utils package is built against
 * plugin-scaffolder-node 0.13 and ignores `signal`, `isDryRun` and `checkpoint` overrides,
 * so those are laid over its result, and the result is cast to the 1.0 context type.
 */
export function mockActionContext<TInput extends Record<string, any>>(
  input: TInput,
  overrides: Partial<
    Pick<ActionContext<TInput>, 'signal' | 'isDryRun' | 'checkpoint'>
  > = {},
) {
  const logger = mockServices.logger.mock();
  const ctx = {
    ...createMockActionContext({ input, logger }),
    ...overrides,
  } as unknown as ActionContext<TInput, any>;
  return { ctx, logger };
}

/** Every message given to the logger, at any level, in the order they were logged. */
export function loggedLines(
  logger: ReturnType<typeof mockServices.logger.mock>,
): string[] {
  return [logger.info, logger.warn, logger.error, logger.debug]
    .flatMap(fn =>
      fn.mock.calls.map((call, i) => ({
        order: fn.mock.invocationCallOrder[i],
        line: String(call[0]),
      })),
    )
    .sort((a, b) => a.order - b.order)
    .map(({ line }) => line);
}
