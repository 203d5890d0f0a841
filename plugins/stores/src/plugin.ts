import {
  createApiFactory,
  createComponentExtension,
  createPlugin,
  createRoutableExtension,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/core-plugin-api';
import { createScaffolderFieldExtension } from '@backstage/plugin-scaffolder-react';
import { StoresClient } from '@storeplane/plugin-stores-common';
import { storesApiRef } from './api';
import { StoreDescriptionField } from './components/StoreDescriptionField';
import { StoreEnginePicker } from './components/StoreEnginePicker';
import { StoreOwnerPicker } from './components/StoreOwnerPicker';
import {
  createStoreRouteRef,
  entityContentRouteRef,
  rolloutsRouteRef,
  rootRouteRef,
} from './routes';

/**
 * The stores frontend plugin (legacy frontend system).
 *
 * @public
 */
export const storesPlugin = createPlugin({
  id: 'stores',
  apis: [
    createApiFactory({
      api: storesApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new StoresClient({ discoveryApi, fetchApi }),
    }),
  ],
  routes: {
    root: rootRouteRef,
    rollouts: rolloutsRouteRef,
  },
  externalRoutes: {
    createStore: createStoreRouteRef,
  },
});

/**
 * The "Store" tab of a store entity: status, activity, links and actions.
 *
 * @public
 */
export const EntityStoreContent = storesPlugin.provide(
  createRoutableExtension({
    name: 'EntityStoreContent',
    component: () =>
      import('./components/EntityStoreContent').then(m => m.EntityStoreContent),
    mountPoint: entityContentRouteRef,
  }),
);

/**
 * Compact overview card of a store entity.
 *
 * @public
 */
export const EntityStoreCard = storesPlugin.provide(
  createComponentExtension({
    name: 'EntityStoreCard',
    component: {
      lazy: () =>
        import('./components/EntityStoreCard').then(m => m.EntityStoreCard),
    },
  }),
);

/**
 * Lists all stores the user may see, with filters and a "Create store" button.
 *
 * @public
 */
export const StoresPage = storesPlugin.provide(
  createRoutableExtension({
    name: 'StoresPage',
    component: () => import('./components/StoresPage').then(m => m.StoresPage),
    mountPoint: rootRouteRef,
  }),
);

/**
 * Fleet rollouts: start a rollout of the shipped chart version to every store, follow its
 * waves and per-store results, pause, resume or abort it. For Storeplane administrators (the
 * API answers 403 to others).
 *
 * @public
 */
export const RolloutsPage = storesPlugin.provide(
  createRoutableExtension({
    name: 'RolloutsPage',
    component: () =>
      import('./components/RolloutsPage').then(m => m.RolloutsPage),
    mountPoint: rolloutsRouteRef,
  }),
);

/**
 * Template field `ui:field: StoreOwnerPicker`: the signed-in user (default) or one of their
 * groups. Add it inside `<ScaffolderFieldExtensions>` of the app's scaffolder route.
 *
 * @public
 */
export const StoreOwnerPickerFieldExtension = storesPlugin.provide(
  createScaffolderFieldExtension({
    name: 'StoreOwnerPicker',
    component: StoreOwnerPicker,
  }),
);

/**
 * Template field `ui:field: StoreEnginePicker`: the engines the stores backend runs
 * (`GET /engines`), the first by default. Add it inside `<ScaffolderFieldExtensions>` of the
 * app's scaffolder route.
 *
 * @public
 */
export const StoreEnginePickerFieldExtension = storesPlugin.provide(
  createScaffolderFieldExtension({
    name: 'StoreEnginePicker',
    component: StoreEnginePicker,
  }),
);

/**
 * Template field `ui:field: StoreDescriptionField`: the store's description, with a button
 * that prefills it from the store name (`POST /content-suggestions`). Add it inside
 * `<ScaffolderFieldExtensions>` of the app's scaffolder route.
 *
 * @public
 */
export const StoreDescriptionFieldExtension = storesPlugin.provide(
  createScaffolderFieldExtension({
    name: 'StoreDescriptionField',
    component: StoreDescriptionField,
  }),
);
