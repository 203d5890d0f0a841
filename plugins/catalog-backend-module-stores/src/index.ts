/**
 * Catalog module of Storeplane: every store is a `Resource` entity of type `woocommerce-store`.
 *
 * @packageDocumentation
 */

export { default } from './module';
export {
  StoreEntityProvider,
  type StoreEntityProviderOptions,
} from './StoreEntityProvider';
export { storeToEntity, type StoreEntityOptions } from './storeToEntity';
