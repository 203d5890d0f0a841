export { storesPlugin, StoresPage } from './plugin';
