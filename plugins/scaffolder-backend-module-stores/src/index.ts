/**
 * Scaffolder actions of Storeplane: `storeplane:store:create` and `storeplane:store:delete`.
 *
 * @packageDocumentation
 */

export { default } from './module';
export { createStoreCreateAction } from './actions/createStoreAction';
export { createStoreDeleteAction } from './actions/deleteStoreAction';
export type { StoreActionOptions } from './actions/storesApi';
