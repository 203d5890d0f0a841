import { createFrontendPlugin } from '@backstage/frontend-plugin-api';
import StorefrontIcon from '@material-ui/icons/Storefront';
import { createStoreRouteRef, rolloutsRouteRef, rootRouteRef } from '../routes';
import { storesApi } from './apis';
import { entityStoreCard, entityStoreContent } from './entityExtensions';
import {
  storeDescriptionFormField,
  storeEnginePickerFormField,
  storeOwnerPickerFormField,
} from './formFields';
import { rolloutsPage, storesPage } from './pages';

/**
 * Storeplane for Backstage's new frontend system: the stores API, the Stores page (with its
 * sidebar item), a store entity's Store tab and overview card, and the template fields
 * `StoreOwnerPicker`, `StoreEnginePicker` and `StoreDescriptionField`.
 *
 * @alpha
 */
export default createFrontendPlugin({
  pluginId: 'stores',
  title: 'Stores',
  icon: <StorefrontIcon />,
  info: { packageJson: () => import('../../package.json') },
  routes: { root: rootRouteRef, rollouts: rolloutsRouteRef },
  externalRoutes: { createStore: createStoreRouteRef },
  extensions: [
    storesApi,
    storesPage,
    rolloutsPage,
    entityStoreContent,
    entityStoreCard,
    storeOwnerPickerFormField,
    storeEnginePickerFormField,
    storeDescriptionFormField,
  ],
});
