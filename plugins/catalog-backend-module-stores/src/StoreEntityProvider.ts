import {
  AuthService,
  DiscoveryService,
  LoggerService,
  RootConfigService,
  SchedulerService,
  SchedulerServiceTaskScheduleDefinition,
  readSchedulerServiceTaskScheduleDefinitionFromConfig,
} from '@backstage/backend-plugin-api';
import { ResponseError } from '@backstage/errors';
import {
  DeferredEntity,
  EntityProvider,
  EntityProviderConnection,
} from '@backstage/plugin-catalog-node';
import { EventParams, EventsService } from '@backstage/plugin-events-node';
import {
  Store,
  StoresClient,
  storeEntityRef,
  STORES_EVENTS_TOPIC,
  StoreChangedEvent,
} from '@storeplane/plugin-stores-common';
import { storeToEntity } from './storeToEntity';

const PROVIDER_NAME = 'storeplane-stores';
const PAGE_SIZE = 100;

/**
 * A full sync is one list of every store, written to the shared catalog database, so the
 * result is the same whichever replica runs it. `global` scope lets exactly one replica do it
 * per interval instead of every replica hammering the stores API and re-diffing the catalog.
 * Events keep entities current, and the incremental sync repairs a missed event within a
 * minute, so the full sync is only the last resort (an incremental sync that could not run
 * for longer than its look-back): an idle backend with 10,000 stores pages through all of
 * them (100 requests and a 10,000-entity diff) four times a day.
 */
const DEFAULT_SCHEDULE: SchedulerServiceTaskScheduleDefinition = {
  frequency: { hours: 6 },
  timeout: { minutes: 3 },
  scope: 'global',
};

/** Asks for the changes since the last look: with nothing changed, two empty indexed reads. */
const DEFAULT_INCREMENTAL_SCHEDULE: SchedulerServiceTaskScheduleDefinition = {
  frequency: { minutes: 1 },
  timeout: { minutes: 1 },
  scope: 'global',
};

/**
 * Subtracted from the time an incremental sync asks from: times are written by the stores
 * backend's and the database's clocks, and a change may commit a moment after its time.
 */
const CLOCK_MARGIN_MS = 5 * 60_000;

/**
 * How far back an incremental sync looks on a replica that has not synced yet (a restart, or
 * another replica ran the global task until now): changes older than this were applied by
 * earlier runs, or are left to the full sync.
 */
const LOOKBACK_WITHOUT_HISTORY_MS = 15 * 60_000;

/**
 * What the store entity provider needs: the stores API client, Backstage's services and its settings.
 *
 * @public
 */
export interface StoreEntityProviderOptions {
  client: StoresClient;
  auth: AuthService;
  logger: LoggerService;
  scheduler: SchedulerService;
  events: EventsService;
  /** Of the full sync; every 6 hours by default. */
  schedule?: SchedulerServiceTaskScheduleDefinition;
  /** Of the incremental sync; every minute by default. */
  incrementalSchedule?: SchedulerServiceTaskScheduleDefinition;
  /** `spec.system` of store entities. */
  system?: string;
}

/**
 * Makes every store a catalog `Resource`: a scheduled full sync lists all stores, and
 * `storeplane.stores` events add, update or remove single stores in between.
 *
 * @public
 */
export class StoreEntityProvider implements EntityProvider {
  private readonly client: StoresClient;
  private readonly auth: AuthService;
  private readonly logger: LoggerService;
  private readonly scheduler: SchedulerService;
  private readonly events: EventsService;
  private readonly schedule: SchedulerServiceTaskScheduleDefinition;
  private readonly incrementalSchedule: SchedulerServiceTaskScheduleDefinition;
  private readonly system: string;
  private connection?: EntityProviderConnection;
  /** When the last full or incremental sync on this replica that succeeded began. */
  private syncedAsOf?: number;

  static fromConfig(
    config: RootConfigService,
    deps: {
      discovery: DiscoveryService;
      auth: AuthService;
      logger: LoggerService;
      scheduler: SchedulerService;
      events: EventsService;
    },
  ): StoreEntityProvider {
    const providerConfig = config.getOptionalConfig(
      'catalog.providers.storeplane',
    );
    const readSchedule = (key: string) => {
      const scheduleConfig = providerConfig?.getOptionalConfig(key);
      return scheduleConfig
        ? readSchedulerServiceTaskScheduleDefinitionFromConfig(scheduleConfig)
        : undefined;
    };
    return new StoreEntityProvider({
      ...deps,
      client: new StoresClient({ discoveryApi: deps.discovery }),
      schedule: readSchedule('schedule'),
      incrementalSchedule: readSchedule('incrementalSchedule'),
      system: providerConfig?.getOptionalString('system'),
    });
  }

  constructor(options: StoreEntityProviderOptions) {
    this.client = options.client;
    this.auth = options.auth;
    this.logger = options.logger.child({ provider: PROVIDER_NAME });
    this.scheduler = options.scheduler;
    this.events = options.events;
    this.schedule = options.schedule ?? DEFAULT_SCHEDULE;
    this.incrementalSchedule =
      options.incrementalSchedule ?? DEFAULT_INCREMENTAL_SCHEDULE;
    this.system = options.system ?? 'storeplane';
  }

  getProviderName(): string {
    return PROVIDER_NAME;
  }

  async connect(connection: EntityProviderConnection): Promise<void> {
    this.connection = connection;
    await this.scheduler.scheduleTask({
      id: `${PROVIDER_NAME}:full-sync`,
      ...this.schedule,
      fn: () => this.syncAllStores(),
    });
    await this.scheduler.scheduleTask({
      id: `${PROVIDER_NAME}:incremental-sync`,
      ...this.incrementalSchedule,
      fn: () => this.syncChangedStores(),
    });
    await this.events.subscribe({
      // The same id on every replica: each event is handled once, not once per replica.
      id: PROVIDER_NAME,
      topics: [STORES_EVENTS_TOPIC],
      onEvent: params => this.onStoreChanged(params),
    });
  }

  /** Replaces all store entities with what the stores API lists now. */
  async syncAllStores(): Promise<void> {
    const connection = this.requireConnection();
    const startedAt = Date.now();
    const token = await this.serviceToken();
    const stores: Store[] = [];
    // By cursor, so a store created or deleted while the sync pages neither shifts another
    // store out of the pages nor into two of them.
    let cursor: string | undefined;
    for (;;) {
      const page = await this.client.listStores(
        { limit: PAGE_SIZE, cursor },
        { token },
      );
      stores.push(...page.items);
      if (page.nextCursor === null) break;
      if (page.nextCursor === undefined)
        throw new Error(
          'The stores API answered without nextCursor; upgrade the stores backend plugin',
        );
      cursor = page.nextCursor;
    }
    await connection.applyMutation({
      type: 'full',
      entities: stores.map(store => this.deferred(store)),
    });
    this.syncedAsOf = startedAt;
    this.logger.info(`Synced ${stores.length} stores into the catalog`);
  }

  /**
   * Applies the stores created, changed or removed since this replica's last sync (less a
   * margin for clocks), so a missed event is repaired within one incremental period without
   * reading every store.
   */
  async syncChangedStores(): Promise<void> {
    const connection = this.requireConnection();
    const startedAt = Date.now();
    const since = new Date(
      (this.syncedAsOf ?? startedAt - LOOKBACK_WITHOUT_HISTORY_MS) -
        CLOCK_MARGIN_MS,
    ).toISOString();
    const token = await this.serviceToken();
    const changed: Store[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.client.listStores(
        { updatedSince: since, limit: PAGE_SIZE, cursor },
        { token },
      );
      changed.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    const removedIds = new Set<string>();
    do {
      const page = await this.client.listDeletedStores(
        { deletedSince: since, cursor },
        { token },
      );
      for (const { id } of page.items) removedIds.add(id);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    // A store removed between the two reads is in both: it is gone.
    const added = changed.filter(store => !removedIds.has(store.id));
    if (added.length > 0 || removedIds.size > 0)
      await connection.applyMutation({
        type: 'delta',
        added: added.map(store => this.deferred(store)),
        removed: [...removedIds].map(id => ({
          entityRef: storeEntityRef(id),
          locationKey: PROVIDER_NAME,
        })),
      });
    this.syncedAsOf = startedAt;
    this.logger.debug(
      `Applied ${added.length} changed and ${removedIds.size} removed stores since ${since}`,
    );
  }

  private async onStoreChanged(params: EventParams): Promise<void> {
    const change = params.eventPayload;
    if (!isStoreChangedEvent(change)) {
      this.logger.warn(
        `Ignored a ${STORES_EVENTS_TOPIC} event without a storeId and status`,
      );
      return;
    }
    if (!this.connection) {
      // Not connected yet: the first full sync will include the change.
      return;
    }
    try {
      const store =
        change.status === 'Deleted'
          ? undefined
          : await this.fetchStore(change.storeId);
      await this.connection.applyMutation(
        store
          ? { type: 'delta', added: [this.deferred(store)], removed: [] }
          : {
              type: 'delta',
              added: [],
              removed: [
                {
                  entityRef: storeEntityRef(change.storeId),
                  locationKey: PROVIDER_NAME,
                },
              ],
            },
      );
    } catch (error) {
      // Events are a shortcut; the next incremental sync repairs whatever this one missed.
      this.logger.warn(
        `Could not update the catalog entity of store ${change.storeId}; the next sync will: ${error}`,
      );
    }
  }

  private async fetchStore(storeId: string): Promise<Store | undefined> {
    try {
      return await this.client.getStore(storeId, {
        token: await this.serviceToken(),
      });
    } catch (error) {
      if (ResponseError.is(error) && error.statusCode === 404) return undefined;
      throw error;
    }
  }

  private deferred(store: Store): DeferredEntity {
    return {
      entity: storeToEntity(store, { system: this.system }),
      locationKey: PROVIDER_NAME,
    };
  }

  private async serviceToken(): Promise<string> {
    const { token } = await this.auth.getPluginRequestToken({
      onBehalfOf: await this.auth.getOwnServiceCredentials(),
      targetPluginId: 'stores',
    });
    return token;
  }

  private requireConnection(): EntityProviderConnection {
    if (!this.connection) {
      throw new Error(`${PROVIDER_NAME} is not connected to the catalog yet`);
    }
    return this.connection;
  }
}

function isStoreChangedEvent(payload: unknown): payload is StoreChangedEvent {
  const candidate = payload as Partial<StoreChangedEvent> | undefined;
  return (
    typeof candidate?.storeId === 'string' &&
    candidate.storeId.length > 0 &&
    typeof candidate.status === 'string'
  );
}
