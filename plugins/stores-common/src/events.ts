import { StoreStatus } from './types';

/**
 * Topic on Backstage's events service where the stores backend announces every store change.
 *
 * @public
 */
export const STORES_EVENTS_TOPIC = 'storeplane.stores';

/**
 * Payload of a {@link STORES_EVENTS_TOPIC} event.
 *
 * @public
 */
export interface StoreChangedEvent {
  storeId: string;
  status: StoreStatus | 'Deleted';
}

/**
 * Type of the store event that says no Kubernetes cluster is configured. The store waits
 * (without using attempts) until one is; waiting clients can stop on it.
 *
 * @public
 */
export const NO_CLUSTER_EVENT_TYPE = 'cluster.unconfigured';
