import { screen } from '@testing-library/react';
import { Route, Routes } from 'react-router-dom';
import { Entity } from '@backstage/catalog-model';
import { renderInTestApp, TestApiProvider } from '@backstage/test-utils';
import {
  catalogApiRef,
  EntityProvider,
  entityRouteRef,
} from '@backstage/plugin-catalog-react';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import { StoresApi } from './api';
import {
  EntityStoreCard,
  EntityStoreContent,
  isStoreAvailable,
  StoresPage,
  storesApiRef,
  storesPlugin,
} from './index';
import { makeReadyStore } from '@internal/stores-test-utils/store';
import {
  ALL_STORE_PERMISSIONS,
  makeWorkloads,
  permissionApiAllowing,
  storeEntity,
} from './__testUtils__/fixtures';

const store = makeReadyStore();
const storesApi: Partial<StoresApi> = {
  listStores: async () => ({
    items: [store],
    totalCount: 1,
    offset: 0,
    limit: 200,
  }),
  listPlanCosts: async () => ({ currency: null, items: [] }),
  listCostsByOwner: async () => ({ currency: null, items: [] }),
  getStore: async () => store,
  getStoreEvents: async () => ({ items: [] }),
  getStoreWorkloads: async () => makeWorkloads(),
  getStoreDomain: async () => ({
    domain: null,
    status: null,
    expectedTarget: null,
    checkedAt: null,
    message: null,
  }),
  listBackups: async () => ({ items: [] }),
  getStoreUsage: async () => ({
    namespace: store.namespace,
    plan: store.plan,
    resources: [],
    cost: null,
    note: 'The cluster has not reported any use yet',
  }),
};

/**
 * The legacy exports as an app built with `createApp` uses them: routable extensions mounted
 * on a `<Route>` (App.tsx, EntityPage.tsx), the card as a plain element.
 */
function renderLegacy(element: JSX.Element) {
  return renderInTestApp(
    <TestApiProvider
      apis={[
        [storesApiRef, storesApi],
        [catalogApiRef, { getEntities: async () => ({ items: [] }) }],
        [permissionApiRef, permissionApiAllowing(ALL_STORE_PERMISSIONS).api],
      ]}
    >
      {element}
    </TestApiProvider>,
    { mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef } },
  );
}

describe('storesPlugin (legacy frontend system)', () => {
  it('provides the stores API and the create-store external route', () => {
    expect(storesPlugin.getId()).toBe('stores');
    expect([...storesPlugin.getApis()].map(factory => factory.api.id)).toEqual([
      'plugin.storeplane.stores',
    ]);
    expect(Object.keys(storesPlugin.externalRoutes)).toEqual(['createStore']);
  });

  it.each([
    ['a Resource with the store-id annotation', storeEntity, true],
    [
      'a Component with the annotation',
      { ...storeEntity, kind: 'Component' },
      false,
    ],
    [
      'a Resource without it',
      { ...storeEntity, metadata: { name: 'orders-db', annotations: {} } },
      false,
    ],
  ])('isStoreAvailable is true only for stores: %s', (_, entity, expected) => {
    expect(isStoreAvailable(entity as Entity)).toBe(expected);
  });

  it('renders the StoresPage extension', async () => {
    await renderLegacy(
      <Routes>
        <Route path="/" element={<StoresPage />} />
      </Routes>,
    );
    expect(
      await screen.findByRole('heading', { name: 'Stores' }),
    ).toBeInTheDocument();
    expect(await screen.findByText(store.name)).toBeInTheDocument();
  });

  it('renders the EntityStoreContent and EntityStoreCard extensions for a store entity', async () => {
    await renderLegacy(
      <EntityProvider entity={storeEntity}>
        <EntityStoreCard />
        <Routes>
          <Route path="/" element={<EntityStoreContent />} />
        </Routes>
      </EntityProvider>,
    );
    expect(
      await screen.findByRole('link', { name: 'View store details' }),
    ).toHaveAttribute(
      'href',
      `/catalog/default/resource/${storeEntity.metadata.name}/store`,
    );
    expect(await screen.findByText('HTTP health check')).toBeInTheDocument();
  });
});
