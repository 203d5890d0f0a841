/**
 * Storeplane's permission policy: everyone signed in may create and see stores; only the
 * owners of a store and configured administrators may delete or retry it or read its
 * credentials.
 *
 * @packageDocumentation
 */
export { permissionModuleStoresPolicy as default } from './module';
export { StoresPermissionPolicy } from './StoresPermissionPolicy';
export {
  decideStorePermission,
  type StorePolicyCaller,
  type StorePolicyOptions,
} from './decideStorePermission';
export { readStoreAdmins } from './readStoreAdmins';
