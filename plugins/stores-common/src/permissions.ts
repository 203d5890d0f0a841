import {
  createPermission,
  PermissionCondition,
} from '@backstage/plugin-permission-common';

/**
 * Plugin id of the stores backend, which evaluates store permission conditions.
 *
 * @public
 */
export const STORES_PLUGIN_ID = 'stores';

/**
 * Resource type of stores in permission rules (ownership conditions).
 *
 * @public
 */
export const STORE_RESOURCE_TYPE = 'storeplane-store';

/**
 * Create a store.
 *
 * @public
 */
export const storeCreatePermission = createPermission({
  name: 'storeplane.store.create',
  attributes: { action: 'create' },
});

/**
 * Creating a store for an owner that is neither the caller nor one of the caller's groups
 * (their ownership entity refs). Without it, a user cannot spend another team's quota or
 * plant entities in its name. No `action` attribute, so no "allow every create" rule grants it.
 *
 * @public
 */
export const storeAssignOwnerPermission = createPermission({
  name: 'storeplane.store.owner.assign',
  attributes: {},
});

/**
 * Read a store (a resource permission).
 *
 * @public
 */
export const storeReadPermission = createPermission({
  name: 'storeplane.store.read',
  attributes: { action: 'read' },
  resourceType: STORE_RESOURCE_TYPE,
});

/**
 * Delete a store (a resource permission: owners and administrators in the shipped policy).
 *
 * @public
 */
export const storeDeletePermission = createPermission({
  name: 'storeplane.store.delete',
  attributes: { action: 'delete' },
  resourceType: STORE_RESOURCE_TYPE,
});

/**
 * Retrying a failed store is an update of the store.
 *
 * @public
 */
export const storeRetryPermission = createPermission({
  name: 'storeplane.store.retry',
  attributes: { action: 'update' },
  resourceType: STORE_RESOURCE_TYPE,
});

/**
 * Changing a store's intent after it was created: its display name, plan, chart version or
 * custom domain (owners and administrators in the shipped policy).
 *
 * @public
 */
export const storeUpdatePermission = createPermission({
  name: 'storeplane.store.update',
  attributes: { action: 'update' },
  resourceType: STORE_RESOURCE_TYPE,
});

/**
 * Reading a store's wp-admin password. Deliberately not a `read` action: a policy that
 * allows every read (a common first policy) must not hand out passwords.
 *
 * @public
 */
export const storeCredentialsReadPermission = createPermission({
  name: 'storeplane.store.credentials.read',
  attributes: {},
  resourceType: STORE_RESOURCE_TYPE,
});

/**
 * Asking for a store's content suggestions. Not a `read` action: it may spend the operator's
 * language-model budget, so the shipped policy gives it to owners only.
 *
 * @public
 */
export const storeContentSuggestPermission = createPermission({
  name: 'storeplane.store.content.suggest',
  attributes: {},
  resourceType: STORE_RESOURCE_TYPE,
});

/**
 * Backing up a store's database. Not an `update` or `read` action: a backup is a copy of the
 * store's customers and orders, so the shipped policy gives it to owners only.
 *
 * @public
 */
export const storeBackupPermission = createPermission({
  name: 'storeplane.store.backup',
  attributes: {},
  resourceType: STORE_RESOURCE_TYPE,
});

/**
 * Restoring a store's database from one of its backups, which overwrites the store's data
 * (owner-only in the shipped policy).
 *
 * @public
 */
export const storeRestorePermission = createPermission({
  name: 'storeplane.store.restore',
  attributes: { action: 'update' },
  resourceType: STORE_RESOURCE_TYPE,
});

/**
 * Starting a fleet rollout, which upgrades every store of an engine (administrators only in
 * the shipped policy: it is not a store permission).
 *
 * @public
 */
export const rolloutCreatePermission = createPermission({
  name: 'storeplane.rollout.create',
  attributes: { action: 'create' },
});

/**
 * Reading fleet rollouts, their stores and events.
 *
 * @public
 */
export const rolloutReadPermission = createPermission({
  name: 'storeplane.rollout.read',
  attributes: { action: 'read' },
});

/**
 * Pausing, resuming and aborting a fleet rollout.
 *
 * @public
 */
export const rolloutManagePermission = createPermission({
  name: 'storeplane.rollout.manage',
  attributes: { action: 'update' },
});

/**
 * Every Storeplane permission, for the permission backend's integration.
 *
 * @public
 */
export const storeplanePermissions = [
  storeCreatePermission,
  storeAssignOwnerPermission,
  storeReadPermission,
  storeDeletePermission,
  storeRetryPermission,
  storeUpdatePermission,
  storeCredentialsReadPermission,
  storeContentSuggestPermission,
  storeBackupPermission,
  storeRestorePermission,
  rolloutCreatePermission,
  rolloutReadPermission,
  rolloutManagePermission,
];

/**
 * Name of the stores backend's ownership rule (see {@link isStoreOwnerCondition}).
 *
 * @public
 */
export const IS_STORE_OWNER_RULE = 'IS_STORE_OWNER';

/**
 * The condition "the store's owner or creator is one of these entity refs", for conditional
 * decisions of permission policies. `claims` are usually the caller's user entity ref and
 * ownership entity refs.
 *
 * @public
 */
export function isStoreOwnerCondition(
  claims: string[],
): PermissionCondition<typeof STORE_RESOURCE_TYPE> {
  return {
    rule: IS_STORE_OWNER_RULE,
    resourceType: STORE_RESOURCE_TYPE,
    params: { claims },
  };
}
