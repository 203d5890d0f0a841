import { setTimeout } from 'node:timers/promises';
import { LoggerService } from '@backstage/backend-plugin-api';
import { ResponseError } from '@backstage/errors';
import {
  NO_CLUSTER_EVENT_TYPE,
  Store,
  StoreEvent,
  StoresClient,
} from '@storeplane/plugin-stores-common';

/** What both actions need to follow a store until it settles. */
export interface WaitForStoreOptions {
  client: StoresClient;
  storeId: string;
  /** A fresh token per poll, so a long wait outlives short-lived tokens. */
  getToken: () => Promise<string>;
  logger: LoggerService;
  signal?: AbortSignal;
  timeoutMs: number;
  pollIntervalMs: number;
}

export function isNotFound(error: unknown): boolean {
  return ResponseError.is(error) && error.statusCode === 404;
}

/**
 * Polls a store until it is Ready, or Degraded: a store is only Degraded after it passed every
 * gate, so it was provisioned and only its latest check failed (it turns Ready by itself once
 * its checks pass); the template finishes with a warning. Logs every status or step change and every new store
 * event, so the task log reads like the store's own event list.
 */
export async function waitForStoreReady(
  options: WaitForStoreOptions,
): Promise<Store> {
  const { storeId } = options;
  const settled = await pollStore(options, 'provisioning', store => {
    if (!store) {
      throw new Error(
        `Store ${storeId} was deleted while the template waited for it to become ready`,
      );
    }
    if (store.status === 'Failed') {
      throw new Error(
        `Store ${storeId} failed: ${
          store.lastError ?? 'no reason was recorded'
        }. Retry it or delete it from its catalog page (${store.entityRef}).`,
      );
    }
    if (store.status === 'Deleting') {
      throw new Error(
        `Store ${storeId} is being deleted, so it will never become ready`,
      );
    }
    return store.status === 'Ready' || store.status === 'Degraded';
  });
  if (settled!.status === 'Degraded') {
    options.logger.warn(
      `Store ${storeId} was provisioned but its latest check failed: ${
        settled!.lastError ?? 'no reason was recorded'
      }. It turns Ready by itself once its checks pass.`,
    );
  }
  return settled!;
}

/** Polls a store until the API no longer knows it (404). */
export async function waitForStoreDeletion(
  options: WaitForStoreOptions,
): Promise<void> {
  await pollStore(options, 'deleting', store => !store);
}

/** Remembers what was already logged so each change and event appears once. */
class StoreProgressLog {
  private lastState: string | undefined;
  private lastEventId = -Infinity;

  constructor(private readonly logger: LoggerService) {}

  storeChanged(store: Store) {
    const state = describeState(store);
    if (state !== this.lastState) {
      this.lastState = state;
      this.logger.info(`Store ${store.id} is ${state}`);
    }
  }

  newEvents(newestFirst: StoreEvent[]) {
    const fresh = newestFirst
      .filter(event => event.id > this.lastEventId)
      .sort((a, b) => a.id - b.id);
    for (const event of fresh) {
      this.lastEventId = event.id;
      const line = `[${event.type}] ${event.message}`;
      if (event.level === 'error') this.logger.error(line);
      else if (event.level === 'warning') this.logger.warn(line);
      else this.logger.info(line);
    }
  }
}

async function pollStore(
  options: WaitForStoreOptions,
  activity: 'provisioning' | 'deleting',
  isSettled: (store: Store | undefined) => boolean,
): Promise<Store | undefined> {
  const { client, storeId, getToken, logger, signal } = options;
  const deadline = Date.now() + options.timeoutMs;
  const progress = new StoreProgressLog(logger);
  let store: Store | undefined;

  try {
    for (;;) {
      const token = await getToken();
      store = await fetchStore(client, storeId, { token, signal });
      if (store) {
        // Events first: they explain how the store got to the state logged after them.
        const events = await fetchEvents(client, storeId, { token, signal });
        progress.newEvents(events);
        progress.storeChanged(store);
        if (!isSettled(store)) stopIfNoCluster(store, events[0], activity);
      }
      if (isSettled(store)) {
        return store;
      }
      if (Date.now() >= deadline) {
        throw new Error(
          `Timed out after ${formatDuration(
            options.timeoutMs,
          )} waiting for store ${storeId}; it is still ${describeState(
            store!,
          )}. It keeps ${activity} in the background; follow it on its catalog page (${
            store!.entityRef
          }).`,
        );
      }
      await setTimeout(options.pollIntervalMs, undefined, { signal });
    }
  } catch (error) {
    if (signal?.aborted) {
      throw new Error(
        activity === 'provisioning'
          ? `Stopped waiting for store ${storeId} because the task was cancelled. The store keeps provisioning; delete it from its catalog page (${
              store?.entityRef ?? storeId
            }) if you no longer need it.`
          : `Stopped waiting for store ${storeId} because the task was cancelled. The deletion continues in the background.`,
      );
    }
    throw error;
  }
}

/**
 * Without a cluster a store waits indefinitely; the newest event says so. Waiting out the
 * timeout would only delay the same answer.
 */
function stopIfNoCluster(
  store: Store,
  newestEvent: StoreEvent | undefined,
  activity: 'provisioning' | 'deleting',
) {
  if (newestEvent?.type !== NO_CLUSTER_EVENT_TYPE) return;
  throw new Error(
    `Store ${store.id} cannot be ${
      activity === 'provisioning' ? 'provisioned' : 'deleted'
    } now: ${newestEvent.message} It stays ${
      store.status
    } and continues by itself once a cluster is configured; follow it on its catalog page (${
      store.entityRef
    }).`,
  );
}

async function fetchStore(
  client: StoresClient,
  storeId: string,
  request: { token: string; signal?: AbortSignal },
): Promise<Store | undefined> {
  try {
    return await client.getStore(storeId, request);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

async function fetchEvents(
  client: StoresClient,
  storeId: string,
  request: { token: string; signal?: AbortSignal },
): Promise<StoreEvent[]> {
  try {
    return (await client.getStoreEvents(storeId, request)).items;
  } catch (error) {
    // The store may vanish between the two requests while it is being deleted.
    if (isNotFound(error)) return [];
    throw error;
  }
}

function describeState(store: Store): string {
  return store.step ? `${store.status} (step: ${store.step})` : store.status;
}

function formatDuration(ms: number): string {
  if (ms < 60_000) return `${ms / 1000} seconds`;
  const minutes = Math.round((ms / 60_000) * 10) / 10;
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}
