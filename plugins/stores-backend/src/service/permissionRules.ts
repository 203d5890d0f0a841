import {
  createConditionExports,
  createPermissionResourceRef,
  createPermissionRule,
} from '@backstage/plugin-permission-node';
import {
  IS_STORE_OWNER_RULE,
  STORE_RESOURCE_TYPE,
  STORES_PLUGIN_ID,
} from '@storeplane/plugin-stores-common';
import { z } from 'zod';
import { StoreAccessFilter, StoreOwnership } from '../database/StoreRepository';

/**
 * Stores as permission resources. Only ownership matters to the rules, so a deleted store
 * (whose owner and creator are kept for the audit period) is a resource too.
 */
export const storeResourceRef = createPermissionResourceRef<
  StoreOwnership,
  StoreAccessFilter
>().with({
  pluginId: STORES_PLUGIN_ID,
  resourceType: STORE_RESOURCE_TYPE,
});

/**
 * Allows stores owned by, or created by, one of the given entity refs (the user and their groups).
 *
 * @public
 */
export const isStoreOwner = createPermissionRule({
  name: IS_STORE_OWNER_RULE,
  description:
    'Allow stores whose owner or creator is one of the given entity refs',
  resourceRef: storeResourceRef,
  paramsSchema: z.object({
    claims: z
      .array(z.string())
      .describe(
        'User and group entity refs, usually the ownership claims of the user',
      ),
  }),
  apply: (store, { claims }) => {
    const refs = claims.map(claim => claim.toLowerCase());
    return refs.includes(store.owner) || refs.includes(store.createdBy);
  },
  toQuery: ({ claims }) => ({ ownedBy: claims }),
});

export const storePermissionRules = [isStoreOwner];

const { conditions, createConditionalDecision } = createConditionExports({
  resourceRef: storeResourceRef,
  rules: { isStoreOwner },
});

/**
 * The store conditions for permission policies: `storeConditions.isStoreOwner({ claims })`.
 *
 * @public
 */
export const storeConditions = conditions;

/**
 * A conditional decision on stores for permission policies, built from `storeConditions`.
 *
 * @public
 */
export const createStoreConditionalDecision = createConditionalDecision;
