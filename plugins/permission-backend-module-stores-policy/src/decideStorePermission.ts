import {
  AuthorizeResult,
  isPermission,
  isResourcePermission,
  PolicyDecision,
} from '@backstage/plugin-permission-common';
import { PolicyQuery } from '@backstage/plugin-permission-node';
import {
  isStoreOwnerCondition,
  STORE_RESOURCE_TYPE,
  STORES_PLUGIN_ID,
  storeCreatePermission,
  storeReadPermission,
} from '@storeplane/plugin-stores-common';

/**
 * Who asks, as Backstage's user info service describes a signed-in user.
 *
 * @public
 */
export interface StorePolicyCaller {
  userEntityRef: string;
  ownershipEntityRefs: string[];
}

/**
 * Settings of Storeplane's owner policy.
 *
 * @public
 */
export interface StorePolicyOptions {
  /** Entity refs of administrators (users or groups), see `storeplane.permissions.admins`. */
  admins: string[];
}

/**
 * Storeplane's decisions, for composing into any permission policy. Returns undefined for
 * permissions that are not Storeplane's, so the caller decides those.
 *
 * - not a signed-in user: deny;
 * - administrators (their user ref or one of their ownership refs is in `admins`): allow;
 * - create a store, list and read stores, their status and events: allow (a portal shows
 *   what exists);
 * - every other store permission (delete, retry, update, credentials, backup, restore, and any added
 *   later): allowed on stores the caller owns or created, as a conditional decision, so lists
 *   and batch checks are filtered by the stores backend;
 * - any other Storeplane permission (creating a store for someone else's owner, fleet
 *   rollouts): deny.
 *
 * @public
 */
export function decideStorePermission(
  request: PolicyQuery,
  caller: StorePolicyCaller | undefined,
  options: StorePolicyOptions,
): PolicyDecision | undefined {
  const { permission } = request;
  if (!permission.name.startsWith('storeplane.')) return undefined;
  if (!caller) return { result: AuthorizeResult.DENY };

  if (isStoreAdministrator(caller, options)) {
    return { result: AuthorizeResult.ALLOW };
  }
  if (
    isPermission(permission, storeCreatePermission) ||
    isPermission(permission, storeReadPermission)
  ) {
    return { result: AuthorizeResult.ALLOW };
  }
  if (isResourcePermission(permission, STORE_RESOURCE_TYPE)) {
    return {
      result: AuthorizeResult.CONDITIONAL,
      pluginId: STORES_PLUGIN_ID,
      resourceType: STORE_RESOURCE_TYPE,
      conditions: isStoreOwnerCondition(claimsOf(caller)),
    };
  }
  return { result: AuthorizeResult.DENY };
}

/** The caller's user ref and ownership refs, lower-cased as entity refs compare. */
function claimsOf(caller: StorePolicyCaller): string[] {
  return [
    ...new Set(
      [caller.userEntityRef, ...caller.ownershipEntityRefs].map(ref =>
        ref.toLowerCase(),
      ),
    ),
  ];
}

/** Whether the caller's user ref or one of their ownership refs is in `admins`. */
export function isStoreAdministrator(
  caller: StorePolicyCaller,
  options: StorePolicyOptions,
): boolean {
  const admins = new Set(options.admins.map(ref => ref.toLowerCase()));
  return claimsOf(caller).some(claim => admins.has(claim));
}
