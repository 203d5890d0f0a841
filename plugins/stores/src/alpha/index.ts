import {
  createFrontendPlugin,
  FrontendPlugin,
} from '@backstage/frontend-plugin-api';
import { storesApi } from './apis';
import { entityStoreCard, entityStoreContent } from './entityExtensions';

/**
 * Storeplane for Backstage's new frontend system: the stores API, the store entity's
 * Store tab and its overview card.
 *
 * @alpha
 */
const storesPlugin: FrontendPlugin = createFrontendPlugin({
  pluginId: 'stores',
  title: 'Stores',
  extensions: [storesApi, entityStoreContent, entityStoreCard],
});

export default storesPlugin;

export { storesApi, entityStoreContent, entityStoreCard };
