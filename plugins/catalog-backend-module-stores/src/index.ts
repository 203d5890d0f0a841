/***/
/**
 * The stores backend module for the catalog plugin.
 *
 * @packageDocumentation
 */

export { catalogModuleStores as default } from './module';
