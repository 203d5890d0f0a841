import { createPermission } from '@backstage/plugin-permission-common';

/** Resource type of stores in permission rules (ownership conditions). */
export const STORE_RESOURCE_TYPE = 'storeplane-store';

export const storeCreatePermission = createPermission({
  name: 'storeplane.store.create',
  attributes: { action: 'create' },
});

export const storeReadPermission = createPermission({
  name: 'storeplane.store.read',
  attributes: { action: 'read' },
  resourceType: STORE_RESOURCE_TYPE,
});

export const storeDeletePermission = createPermission({
  name: 'storeplane.store.delete',
  attributes: { action: 'delete' },
  resourceType: STORE_RESOURCE_TYPE,
});

/** Retrying a failed store is an update of the store. */
export const storeRetryPermission = createPermission({
  name: 'storeplane.store.retry',
  attributes: { action: 'update' },
  resourceType: STORE_RESOURCE_TYPE,
});

export const storeCredentialsReadPermission = createPermission({
  name: 'storeplane.store.credentials.read',
  attributes: { action: 'read' },
  resourceType: STORE_RESOURCE_TYPE,
});

export const storeplanePermissions = [
  storeCreatePermission,
  storeReadPermission,
  storeDeletePermission,
  storeRetryPermission,
  storeCredentialsReadPermission,
];
