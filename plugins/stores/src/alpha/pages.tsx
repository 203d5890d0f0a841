import { PageBlueprint } from '@backstage/frontend-plugin-api';
import { rolloutsRouteRef, rootRouteRef } from '../routes';

/**
 * The Stores page at /stores. The app's sidebar lists it through the plugin's title and icon.
 * `StoresPage` draws its own header (the same component serves the legacy app), so the
 * framework's page header is off.
 */
export const storesPage = PageBlueprint.make({
  params: {
    path: '/stores',
    title: 'Stores',
    routeRef: rootRouteRef,
    noHeader: true,
    loader: () =>
      import('../components/StoresPage').then(m => <m.StoresPage />),
  },
});

/** Fleet rollouts at /stores-rollouts, for administrators (the API answers 403 to others). */
export const rolloutsPage = PageBlueprint.make({
  name: 'rollouts',
  params: {
    path: '/stores-rollouts',
    title: 'Fleet rollouts',
    routeRef: rolloutsRouteRef,
    noHeader: true,
    loader: () =>
      import('../components/RolloutsPage').then(m => <m.RolloutsPage />),
  },
});
