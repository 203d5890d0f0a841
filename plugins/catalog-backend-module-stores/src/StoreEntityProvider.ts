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
 * Events keep entities current in between, so the sync only repairs a missed event: every
 * 10 minutes bounds how long one can stay wrong, while an idle backend with 10,000 stores does
 * not page through all of them (100 requests and a 10,000-entity diff) twice a minute.
 */
const DEFAULT_SCHEDULE: SchedulerServiceTaskScheduleDefinition = {
  frequency: { minutes: 10 },
  timeout: { minutes: 3 },
  scope: 'global',
};

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
  schedule?: SchedulerServiceTaskScheduleDefinition;
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
  private readonly system: string;
  private connection?: EntityProviderConnection;

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
    const scheduleConfig = providerConfig?.getOptionalConfig('schedule');
    return new StoreEntityProvider({
      ...deps,
      client: new StoresClient({ discoveryApi: deps.discovery }),
      schedule: scheduleConfig
        ? readSchedulerServiceTaskScheduleDefinitionFromConfig(scheduleConfig)
        : undefined,
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
    this.logger.info(`Synced ${stores.length} stores into the catalog`);
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
      // Events are a shortcut; the next full sync repairs whatever this one missed.
      this.logger.warn(
        `Could not update the catalog entity of store ${change.storeId}; the next full sync will: ${error}`,
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
