import {
  createConditionExports,
  createPermissionResourceRef,
  createPermissionRule,
} from '@backstage/plugin-permission-node';
import { STORE_RESOURCE_TYPE } from '@storeplane/plugin-stores-common';
import { z } from 'zod';
import { StoreAccessFilter, StoreRecord } from '../database/StoreRepository';

export const storeResourceRef = createPermissionResourceRef<
  StoreRecord,
  StoreAccessFilter
>().with({
  pluginId: 'stores',
  resourceType: STORE_RESOURCE_TYPE,
});

/** Allows stores owned by, or created by, one of the given entity refs (the user and their groups). */
export const isStoreOwner = createPermissionRule({
  name: 'IS_STORE_OWNER',
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

/** For permission policies: `storeConditions.isStoreOwner({ claims })`. */
export const {
  conditions: storeConditions,
  createConditionalDecision: createStoreConditionalDecision,
} = createConditionExports({
  pluginId: 'stores',
  resourceType: STORE_RESOURCE_TYPE,
  rules: { isStoreOwner },
});
