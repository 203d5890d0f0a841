/**
 * Storeplane's `stores` backend plugin.
 *
 * @packageDocumentation
 */
export { storesPlugin as default } from './plugin';
export { storesEnginesExtensionPoint } from './engines/types';
export type {
  StoreEngine,
  StoresEnginesExtensionPoint,
  EngineStoreInput,
  ResourceBudget,
  GeneratedCredentials,
  DatabaseBackup,
} from './engines/types';
export { createWooCommerceEngine } from './engines/woocommerceEngine';
export {
  storeConditions,
  createStoreConditionalDecision,
  isStoreOwner,
} from './service/permissionRules';
export type {
  StoreOwnership,
  StoreAccessFilter,
} from './database/StoreRepository';
