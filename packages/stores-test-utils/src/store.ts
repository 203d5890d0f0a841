import {
  Store,
  storeEntityRef,
  storeNamespace,
} from '@storeplane/plugin-stores-common';

/** The id of the store that makeStore describes unless told otherwise. */
export const STORE_ID = 'summer-sale-x1y2z';

const CREATED_AT = '2025-01-01T00:00:00.000Z';
const READY_AT = '2025-01-01T00:10:00.000Z';

/**
 * A store as the stores API returns it, provisioning (Helm install). The name, namespace and
 * entity ref follow the id, so `makeStore({ id })` is a consistent other store.
 */
export function makeStore(overrides: Partial<Store> = {}): Store {
  const id = overrides.id ?? STORE_ID;
  const name = overrides.name ?? id.replace(/-[a-z0-9]{5}$/, '');
  return {
    id,
    name,
    displayName: name,
    owner: 'group:default/team-a',
    createdBy: 'user:default/ann',
    engine: 'woocommerce',
    plan: 'small',
    status: 'Provisioning',
    step: 'helmInstall',
    namespace: storeNamespace(id),
    entityRef: storeEntityRef(id),
    attempts: 0,
    nextAttemptAt: null,
    lastError: null,
    storefrontUrl: null,
    adminUrl: null,
    createdAt: CREATED_AT,
    updatedAt: CREATED_AT,
    readyAt: null,
    chartVersion: null,
    helmRevision: null,
    ...overrides,
  };
}

/** A Ready store with its storefront and admin links at `https://<id>.stores.example.com`. */
export function makeReadyStore(overrides: Partial<Store> = {}): Store {
  const id = overrides.id ?? STORE_ID;
  return makeStore({
    status: 'Ready',
    step: null,
    storefrontUrl: `https://${id}.stores.example.com`,
    adminUrl: `https://${id}.stores.example.com/wp-admin/`,
    updatedAt: READY_AT,
    readyAt: READY_AT,
    ...overrides,
  });
}
