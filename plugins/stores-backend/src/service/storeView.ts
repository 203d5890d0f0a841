import {
  Store,
  StoreEvent,
  storeEntityRef,
} from '@storeplane/plugin-stores-common';
import { StoreEventRecord, StoreViewRecord } from '../database/StoreRepository';
import { isoTime } from './isoTime';

const iso = (ms: number | null) => (ms === null ? null : isoTime(ms));

/** The API shape of a store: no lease internals, no credentials. */
export function toStoreView(record: StoreViewRecord): Store {
  return {
    id: record.id,
    name: record.name,
    displayName: record.displayName ?? record.name,
    ...(record.description ? { description: record.description } : {}),
    owner: record.owner,
    createdBy: record.createdBy,
    engine: record.engine,
    plan: record.plan,
    status: record.status,
    step: record.step,
    namespace: record.namespace,
    entityRef: storeEntityRef(record.id),
    attempts: record.attempts,
    nextAttemptAt:
      record.status === 'Provisioning' ||
      record.status === 'Updating' ||
      record.status === 'Restoring' ||
      record.status === 'Deleting'
        ? iso(record.nextAttemptAt)
        : null,
    lastError: record.lastError,
    storefrontUrl: record.storefrontUrl,
    adminUrl: record.adminUrl,
    createdAt: iso(record.createdAt)!,
    updatedAt: iso(record.updatedAt)!,
    readyAt: iso(record.readyAt),
    chartVersion: record.chartVersion,
    helmRevision: record.helmRevision,
  };
}

export function toEventView(record: StoreEventRecord): StoreEvent {
  return { ...record, createdAt: isoTime(record.createdAt) };
}
