import {
  createExternalRouteRef,
  createRouteRef,
} from '@backstage/core-plugin-api';

/** The stores list page. */
export const rootRouteRef = createRouteRef({
  id: 'stores',
});

/** The fleet rollouts page (administrators). */
export const rolloutsRouteRef = createRouteRef({
  id: 'stores:rollouts',
});

/** The "Store" tab of a store entity. */
export const entityContentRouteRef = createRouteRef({
  id: 'stores:entity-content',
});

/**
 * Where the "Create store" button leads: the scaffolder's `selectedTemplate` route, which
 * opens the WooCommerce store template. The new frontend system binds it by default; legacy
 * apps bind it in `bindRoutes`. Without a binding the button is hidden.
 */
export const createStoreRouteRef = createExternalRouteRef({
  id: 'stores:create-store',
  params: ['namespace', 'templateName'],
  optional: true,
  defaultTarget: 'scaffolder.selectedTemplate',
});

/** The software template that creates a store (templates/woocommerce-store). */
export const STORE_TEMPLATE = {
  namespace: 'default',
  templateName: 'woocommerce-store',
};
