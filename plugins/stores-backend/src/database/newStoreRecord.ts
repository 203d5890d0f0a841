import { storeNamespace } from '@storeplane/plugin-stores-common';
import { StoreRecord } from './StoreRepository';

/** What a user chooses when asking for a store; everything else of a new row follows from it. */
export type StoreRequestFields = Pick<
  StoreRecord,
  'id' | 'name' | 'description' | 'owner' | 'createdBy' | 'engine' | 'plan'
>;

/** The row of a store just asked for: present, Provisioning at its first gate, due now. */
export function newStoreRecord(
  request: StoreRequestFields,
  now: number,
): StoreRecord {
  return {
    ...request,
    displayName: null,
    desiredState: 'present',
    status: 'Provisioning',
    step: 'guardrails',
    namespace: storeNamespace(request.id),
    storefrontUrl: null,
    adminUrl: null,
    generation: 1,
    attempts: 0,
    nextAttemptAt: now,
    stepStartedAt: now,
    lastError: null,
    leaseHolder: null,
    leaseExpiresAt: null,
    createdAt: now,
    updatedAt: now,
    readyAt: null,
    reachedClusterAt: null,
    chartVersion: null,
    helmRevision: null,
    appliedPlan: null,
    observedGeneration: null,
    domain: null,
    appliedDomain: null,
    domainStatus: null,
    domainCheckedAt: null,
    domainMessage: null,
  };
}
