export { EntityStoreCard } from './EntityStoreCard';
