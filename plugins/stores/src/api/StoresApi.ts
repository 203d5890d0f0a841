import { createApiRef } from '@backstage/core-plugin-api';
import { StoresClient } from '@storeplane/plugin-stores-common';

/**
 * What the frontend needs from the `stores` backend: the methods of the shared REST client,
 * so a mock or another implementation can stand in for it.
 *
 * @public
 */
export type StoresApi = Pick<
  StoresClient,
  | 'listStores'
  | 'getStore'
  | 'getStoreEvents'
  | 'getStoreLinks'
  | 'getStoreCredentials'
  | 'getStoreWorkloads'
  | 'getStoreUsage'
  | 'retryStore'
  | 'updateStore'
  | 'upgradeStore'
  | 'getStoreDomain'
  | 'setStoreDomain'
  | 'removeStoreDomain'
  | 'requestBackup'
  | 'listBackups'
  | 'downloadBackup'
  | 'restoreBackup'
  | 'deleteStore'
  | 'listPlans'
  | 'listPlanCosts'
  | 'listCostsByOwner'
  | 'listEngines'
  | 'suggestStoreContent'
  | 'suggestNewStoreContent'
  | 'listRollouts'
  | 'createRollout'
  | 'getRollout'
  | 'commandRollout'
>;

/**
 * The stores API's reference, for `useApi`.
 *
 * @public
 */
export const storesApiRef = createApiRef<StoresApi>({
  id: 'plugin.storeplane.stores',
});
