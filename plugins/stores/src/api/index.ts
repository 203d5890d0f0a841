export { storesApiRef } from './StoresApi';
export type { StoresApi } from './StoresApi';
