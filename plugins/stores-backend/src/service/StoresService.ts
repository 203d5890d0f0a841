import { KubernetesObject } from '@kubernetes/client-node';
import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import {
  createStoreRequestSchema,
  describeIssues,
  StoreUsage,
  StoreWorkloads,
  updateStoreRequestSchema,
} from '@storeplane/plugin-stores-common';
import { randomBytes } from 'node:crypto';
import { StoresConfig } from '../config/readStoresConfig';
import {
  CreateUsage,
  NewStoreEvent,
  StoreRecord,
  StoreRepository,
} from '../database/StoreRepository';
import { newStoreRecord } from '../database/newStoreRecord';
import { EngineRegistry } from '../engines/EngineRegistry';
import { KubernetesClient } from '../kubernetes/KubernetesClient';
import { CREDENTIALS_SECRET } from '../kubernetes/storeResources';
import { StoreChangeListener } from '../reconciler/StoreReconciler';
import { describeDuration } from '../reconciler/steps';
import { readStoreUsage } from './storeUsage';
import { readStoreWorkloads, VOLUME_USAGE_NOTE } from './storeWorkloads';
import { TooManyRequestsError } from './errors';

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function randomSuffix(length = 5): string {
  const bytes = randomBytes(length);
  return Array.from(bytes, b => ID_ALPHABET[b % ID_ALPHABET.length]).join('');
}

export interface StoresServiceOptions {
  repository: StoreRepository;
  engines: EngineRegistry;
  config: StoresConfig;
  kubernetes: () => KubernetesClient;
  onChange: StoreChangeListener;
  /** Asks the reconciler to look at due stores now. */
  wakeReconciler: () => void;
  /** The chart version this backend installs for an engine; null when it cannot tell. */
  shippedChartVersion: (engineName: string) => Promise<string | null>;
  now?: () => number;
}

/** What the REST API can do with stores, independent of HTTP. */
export class StoresService {
  private readonly now: () => number;

  constructor(private readonly options: StoresServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Validates a create request; throws InputError with every problem in plain words. */
  validateCreate(body: unknown) {
    const parsed = createStoreRequestSchema.safeParse(body);
    if (!parsed.success) {
      throw new InputError(
        `Invalid store request: ${describeIssues(parsed.error)}`,
      );
    }
    const { config, engines } = this.options;
    const plan = parsed.data.plan ?? config.defaultPlan;
    const engine = parsed.data.engine ?? 'woocommerce';
    if (!config.plans.has(plan)) {
      throw new InputError(
        `Unknown plan '${plan}'; choose one of: ${[...config.plans.keys()].join(
          ', ',
        )}`,
      );
    }
    if (!engines.has(engine)) {
      throw new InputError(
        `Unknown engine '${engine}'; installed engines: ${engines
          .list()
          .map(e => e.name)
          .join(', ')}`,
      );
    }
    return { ...parsed.data, plan, engine };
  }

  async createStore(body: unknown, requester: string): Promise<StoreRecord> {
    const request = this.validateCreate(body);
    const now = this.now();
    const id = `${request.name}-${randomSuffix()}`;
    const store = newStoreRecord(
      {
        id,
        name: request.name,
        description: request.description ?? null,
        owner: request.owner,
        createdBy: requester,
        engine: request.engine,
        plan: request.plan,
      },
      now,
    );
    await this.options.repository.insertStore(
      store,
      {
        type: 'requested',
        level: 'info',
        message: `Store '${store.name}' requested on plan ${store.plan} for ${store.owner}`,
        actor: requester,
      },
      {
        rateLimitUser: requester,
        rateWindowStart: now - this.options.config.limits.createRate.windowMs,
        checkUsage: usage => this.enforceLimits(usage, request.owner, now),
      },
    );
    this.options.onChange(id, 'Provisioning');
    this.options.wakeReconciler();
    return store;
  }

  async getStore(id: string): Promise<StoreRecord> {
    const store = await this.options.repository.getStore(id);
    if (!store)
      throw new NotFoundError(
        `Store '${id}' does not exist (it may have been deleted)`,
      );
    return store;
  }

  async retryStore(store: StoreRecord, actor: string): Promise<StoreRecord> {
    if (store.status === 'Degraded') {
      throw new ConflictError(
        `Store '${
          store.id
        }' is Degraded; it is checked again every ${describeDuration(
          this.options.config.monitor.intervalMs,
        )} and turns Ready by itself once its checks pass (its last error says what failed). Only a Failed store can be retried`,
      );
    }
    if (store.status !== 'Failed') {
      throw new ConflictError(
        `Store '${store.id}' is ${store.status}; only a Failed store can be retried`,
      );
    }
    const retried = await this.options.repository.requestRetry(
      store.id,
      this.now(),
    );
    if (!retried)
      throw new ConflictError(
        `Store '${store.id}' changed meanwhile; reload and try again`,
      );
    await this.options.repository.addEvent(
      store.id,
      {
        type: 'retry.requested',
        level: 'info',
        message: `Retry requested at step ${store.step}`,
        actor,
      },
      this.now(),
    );
    this.options.onChange(store.id, 'Provisioning');
    this.options.wakeReconciler();
    return this.getStore(store.id);
  }

  /** Validates a change request; throws InputError with every problem in plain words. */
  validateUpdate(body: unknown) {
    const parsed = updateStoreRequestSchema.safeParse(body);
    if (!parsed.success) {
      throw new InputError(
        `Invalid store change: ${describeIssues(parsed.error)}`,
      );
    }
    return parsed.data;
  }

  /** Applies an owner's change of intent to a store (see `UpdateStoreRequest`). */
  async updateStore(
    store: StoreRecord,
    body: unknown,
    actor: string,
  ): Promise<StoreRecord> {
    const change = this.validateUpdate(body);
    if (store.status === 'Deleting') {
      throw new ConflictError(
        `Store '${store.id}' is being deleted; it cannot be changed`,
      );
    }
    if (change.plan !== undefined && change.plan !== store.plan) {
      this.checkPlanChange(store, change.plan);
    }
    if (change.displayName !== undefined) {
      await this.rename(store, change.displayName, actor);
    }
    if (change.plan !== undefined && change.plan !== store.plan) {
      await this.requestUpdate(
        store,
        { plan: change.plan },
        {
          type: 'plan.change.requested',
          level: 'info',
          message: `Plan change from ${store.plan} to ${change.plan} requested; a Helm upgrade follows, and a rollback if the store does not pass its gates`,
          actor,
        },
      );
    }
    return this.getStore(store.id);
  }

  /**
   * Upgrades a Ready or Degraded store to the chart version this backend ships (a Helm
   * upgrade Job, the gates, and a rollback when they fail).
   */
  async upgradeStore(store: StoreRecord, actor: string): Promise<StoreRecord> {
    const shipped = await this.options.shippedChartVersion(store.engine);
    if (shipped !== null && store.chartVersion === shipped) {
      throw new ConflictError(
        `Store '${store.id}' already runs chart version ${shipped}, the version this backend ships; there is nothing to upgrade`,
      );
    }
    await this.requestUpdate(
      store,
      {},
      {
        type: 'upgrade.requested',
        level: 'info',
        message: `Upgrade from chart ${
          store.chartVersion ?? 'version unknown'
        } to ${
          shipped ?? 'the configured chart'
        } requested; a rollback follows if the store does not pass its gates`,
        actor,
      },
    );
    return this.getStore(store.id);
  }

  /** Throws 400 for a plan that does not exist and 409 for one the store cannot move to. */
  private checkPlanChange(store: StoreRecord, planName: string) {
    const { config, engines } = this.options;
    const to = config.plans.get(planName);
    if (!to) {
      throw new InputError(
        `Unknown plan '${planName}'; choose one of: ${[
          ...config.plans.keys(),
        ].join(', ')}`,
      );
    }
    this.requireReadyForUpdate(store);
    const from = config.plans.get(store.appliedPlan ?? store.plan);
    const problem =
      from && engines.get(store.engine).planChangeProblem?.(from, to);
    if (problem) {
      throw new ConflictError(
        `Store '${store.id}' cannot move to plan ${planName}: ${problem}`,
      );
    }
  }

  private requireReadyForUpdate(store: StoreRecord) {
    if (store.status !== 'Ready' && store.status !== 'Degraded') {
      throw new ConflictError(
        `Store '${store.id}' is ${store.status}; only a Ready or Degraded store can be updated (wait until it is Ready, or retry it if it failed)`,
      );
    }
  }

  private async requestUpdate(
    store: StoreRecord,
    change: { plan?: string },
    event: NewStoreEvent,
  ) {
    this.requireReadyForUpdate(store);
    const requested = await this.options.repository.requestUpdate(
      store,
      change,
      event,
    );
    if (!requested) {
      throw new ConflictError(
        `Store '${store.id}' changed meanwhile; reload and try again`,
      );
    }
    this.options.onChange(store.id, 'Updating');
    this.options.wakeReconciler();
  }

  private async rename(store: StoreRecord, displayName: string, actor: string) {
    const current = store.displayName ?? store.name;
    if (displayName === current) return;
    const renamed = await this.options.repository.renameStore(
      store.id,
      displayName,
      {
        type: 'renamed',
        level: 'info',
        message: `Renamed from '${current}' to '${displayName}'`,
        actor,
      },
    );
    if (!renamed) {
      throw new ConflictError(
        `Store '${store.id}' is being deleted; it cannot be renamed`,
      );
    }
    this.options.onChange(store.id, store.status);
  }

  async deleteStore(store: StoreRecord, actor: string): Promise<StoreRecord> {
    if (store.status !== 'Deleting') {
      await this.options.repository.requestDeletion(store.id, this.now());
      await this.options.repository.addEvent(
        store.id,
        {
          type: 'delete.requested',
          level: 'info',
          message: `Deletion requested (was ${store.status})`,
          actor,
        },
        this.now(),
      );
      this.options.onChange(store.id, 'Deleting');
      this.options.wakeReconciler();
    }
    return this.getStore(store.id);
  }

  /**
   * What runs in the store's namespace, read live from the cluster (nothing is cached). A
   * store that never reached a cluster has nothing there.
   */
  async readWorkloads(store: StoreRecord): Promise<StoreWorkloads> {
    if (store.reachedClusterAt === null) {
      return {
        namespace: store.namespace,
        pods: [],
        workloads: [],
        volumeClaims: [],
        usageNote: VOLUME_USAGE_NOTE,
      };
    }
    try {
      return await readStoreWorkloads(
        this.options.kubernetes(),
        store.namespace,
      );
    } catch (error) {
      throw new ConflictError(
        `The store's workloads cannot be read from Kubernetes: ${
          (error as Error).message
        }`,
      );
    }
  }

  /** The namespace's quota use as the API server reports it, and the store's cost estimate. */
  async readUsage(store: StoreRecord): Promise<StoreUsage> {
    try {
      return await readStoreUsage(store, this.options);
    } catch (error) {
      throw new ConflictError(
        `The store's quota cannot be read from Kubernetes: ${
          (error as Error).message
        }`,
      );
    }
  }

  /** Reads the admin login from the store's Secret in the cluster; it is never stored elsewhere. */
  async readCredentials(store: StoreRecord) {
    if (store.status === 'Deleting') {
      throw new ConflictError(`Store '${store.id}' is being deleted`);
    }
    const secret = await this.options
      .kubernetes()
      .read<KubernetesObject & { data?: Record<string, string> }>(
        'v1',
        'Secret',
        store.namespace,
        CREDENTIALS_SECRET,
      )
      .catch(error => {
        throw new ConflictError(
          `The store's credentials cannot be read from Kubernetes: ${
            (error as Error).message
          }`,
        );
      });
    if (!secret?.data) {
      throw new NotFoundError(
        `Store '${store.id}' has no credentials yet (its Secret is created during provisioning)`,
      );
    }
    const decoded = Object.fromEntries(
      Object.entries(secret.data).map(([key, value]) => [
        key,
        Buffer.from(value, 'base64').toString('utf8'),
      ]),
    );
    const admin = this.options.engines
      .get(store.engine)
      .adminCredentials(decoded);
    return {
      adminUsername: admin.username,
      adminPassword: admin.password,
      adminUrl: store.adminUrl,
    };
  }

  /** Throws 429 when a create would exceed a limit; runs inside the create transaction. */
  private enforceLimits(usage: CreateUsage, owner: string, now: number) {
    const { limits } = this.options.config;
    const { recentCreates, activeByUser, activeByOwner } = usage;
    if (recentCreates.length >= limits.createRate.count) {
      const retryAfter = Math.max(
        1,
        Math.ceil((recentCreates[0] + limits.createRate.windowMs - now) / 1000),
      );
      throw new TooManyRequestsError(
        `You created ${recentCreates.length} stores in the last ${Math.round(
          limits.createRate.windowMs / 60000,
        )} minutes; try again in ${retryAfter} s`,
        retryAfter,
      );
    }
    if (activeByUser >= limits.maxActiveStoresPerUser) {
      throw new TooManyRequestsError(
        `You already have ${activeByUser} active stores (limit ${limits.maxActiveStoresPerUser}); delete one first`,
        60,
      );
    }
    if (activeByOwner >= limits.maxActiveStoresPerOwner) {
      throw new TooManyRequestsError(
        `${owner} already owns ${activeByOwner} active stores (limit ${limits.maxActiveStoresPerOwner}); delete one first`,
        60,
      );
    }
  }
}
