/**
 * Storeplane frontend: a store entity's Store tab and overview card, and the stores page.
 *
 * @packageDocumentation
 */
export {
  storesPlugin,
  EntityStoreContent,
  EntityStoreCard,
  StoresPage,
  RolloutsPage,
  StoreOwnerPickerFieldExtension,
  StoreEnginePickerFieldExtension,
  StoreDescriptionFieldExtension,
} from './plugin';
export { isStoreAvailable } from './components/shared/isStoreAvailable';
export { storesApiRef } from './api';
export type { StoresApi } from './api';
