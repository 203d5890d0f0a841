export { EntityStoreContent } from './EntityStoreContent';
