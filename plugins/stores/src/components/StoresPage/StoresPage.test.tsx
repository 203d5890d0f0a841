import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/test-utils';
import { configApiRef } from '@backstage/core-plugin-api';
import { catalogApiRef, entityRouteRef } from '@backstage/plugin-catalog-react';
import { createStoreRouteRef } from '../../routes';
import { storesApiRef } from '../../api';
import { makeReadyStore, makeStore } from '@internal/stores-test-utils/store';
import { StoresPage } from './StoresPage';

const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000).toISOString();
const stores = [
  makeReadyStore({
    id: 'shop-1',
    name: 'summer-sale',
    entityRef: 'resource:default/store-shop-1',
    createdAt: twoHoursAgo,
  }),
  makeStore({
    id: 'shop-2',
    name: 'winter-sale',
    owner: 'user:default/ann',
    status: 'Failed',
    plan: 'large',
    entityRef: 'resource:default/store-shop-2',
    createdAt: twoHoursAgo,
  }),
];

const catalogApi = {
  getEntities: jest.fn().mockResolvedValue({
    items: [
      {
        apiVersion: 'backstage.io/v1alpha1',
        kind: 'Group',
        metadata: { name: 'team-a', namespace: 'default' },
        spec: { type: 'team', children: [] },
      },
      {
        apiVersion: 'backstage.io/v1alpha1',
        kind: 'User',
        metadata: { name: 'ann', namespace: 'default' },
        spec: {},
      },
    ],
  }),
};

async function renderPage(
  listStores: jest.Mock,
  options: { withCreateRoute?: boolean; sandbox?: boolean } = {},
) {
  await renderInTestApp(
    <TestApiProvider
      apis={[
        [storesApiRef, { listStores }],
        [catalogApiRef, catalogApi],
        [
          configApiRef,
          mockApis.config({
            data: options.sandbox
              ? { storeplane: { sandbox: { enabled: true } } }
              : {},
          }),
        ],
      ]}
    >
      <StoresPage />
    </TestApiProvider>,
    {
      mountedRoutes: {
        '/catalog/:namespace/:kind/:name': entityRouteRef,
        ...(options.withCreateRoute
          ? {
              '/create/templates/:namespace/:templateName': createStoreRouteRef,
            }
          : {}),
      },
    },
  );
}

describe('StoresPage', () => {
  // Beside the real-cluster suites on 2 cores, one render and its reloads have taken more than
  // Jest's default 5 s.
  jest.setTimeout(20_000);

  it('lists stores with links to their entities, owner, plan and status', async () => {
    const listStores = jest.fn().mockResolvedValue({
      items: stores,
      totalCount: 2,
      offset: 0,
      limit: 200,
    });
    await renderPage(listStores, { withCreateRoute: true });

    expect(
      await screen.findByRole('link', { name: 'summer-sale' }),
    ).toHaveAttribute('href', '/catalog/default/resource/store-shop-1');
    const row = screen
      .getByRole('link', { name: 'winter-sale' })
      .closest('tr')!;
    expect(within(row).getByText('large')).toBeInTheDocument();
    expect(within(row).getByLabelText('Status: Failed')).toBeInTheDocument();
    expect(within(row).getByRole('link', { name: /ann/ })).toHaveAttribute(
      'href',
      '/catalog/default/user/ann',
    );
    expect(within(row).getByText('2 hours ago')).toBeInTheDocument();
    expect(
      screen.getByRole('button', { name: 'Create store' }),
    ).toHaveAttribute('href', '/create/templates/default/woocommerce-store');
  });

  it('queries the API with the chosen owner and status', async () => {
    const listStores = jest.fn().mockResolvedValue({
      items: stores,
      totalCount: 2,
      offset: 0,
      limit: 200,
    });
    await renderPage(listStores);
    await screen.findByRole('link', { name: 'summer-sale' });
    expect(listStores).toHaveBeenLastCalledWith({
      owner: undefined,
      status: undefined,
      limit: 200,
    });

    listStores.mockResolvedValue({
      items: [stores[1]],
      totalCount: 1,
      offset: 0,
      limit: 200,
    });
    await userEvent.selectOptions(screen.getByLabelText('Status'), 'Failed');
    await waitFor(() =>
      expect(listStores).toHaveBeenLastCalledWith({
        owner: undefined,
        status: 'Failed',
        limit: 200,
      }),
    );
    await waitFor(() =>
      expect(screen.queryByRole('link', { name: 'summer-sale' })).toBeNull(),
    );
    expect(
      screen.getByRole('link', { name: 'winter-sale' }),
    ).toBeInTheDocument();

    await waitFor(() =>
      expect(
        within(screen.getByLabelText('Owner')).getByRole('option', {
          name: 'user:default/ann',
        }),
      ).toBeInTheDocument(),
    );
    await userEvent.selectOptions(
      screen.getByLabelText('Owner'),
      'user:default/ann',
    );
    await waitFor(() =>
      expect(listStores).toHaveBeenLastCalledWith({
        owner: 'user:default/ann',
        status: 'Failed',
        limit: 200,
      }),
    );
  });

  it('says when more stores match than the backend counted', async () => {
    const listStores = jest.fn().mockResolvedValue({
      items: stores,
      totalCount: 1000,
      totalCountCapped: true,
      offset: 0,
      limit: 200,
    });
    await renderPage(listStores);
    expect(await screen.findByText('Stores (1000+)')).toBeInTheDocument();
    expect(
      screen.getByText(/Showing 2 of more than 1000 stores/),
    ).toBeInTheDocument();
  });

  it('hides "Create store" when the app did not bind it', async () => {
    const listStores = jest
      .fn()
      .mockResolvedValue({ items: [], totalCount: 0, offset: 0, limit: 200 });
    await renderPage(listStores);
    expect(
      await screen.findByText('No stores match these filters.'),
    ).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Create store' })).toBeNull();
  });

  it('explains a failed list request', async () => {
    const listStores = jest
      .fn()
      .mockRejectedValue(new Error('stores backend unavailable'));
    await renderPage(listStores);
    expect(
      await screen.findByText(/Could not list stores/),
    ).toBeInTheDocument();
  });

  it('says on the sandbox, above the list, that its stores are simulated', async () => {
    const listStores = jest.fn().mockResolvedValue({
      items: stores,
      totalCount: 2,
      offset: 0,
      limit: 200,
    });
    await renderPage(listStores, { sandbox: true });

    expect(
      await screen.findByRole('note', { name: 'Sandbox' }),
    ).toHaveTextContent(/simulated pods, no real WordPress/);
  });

  it('shows no sandbox notice on a real cluster', async () => {
    const listStores = jest.fn().mockResolvedValue({
      items: stores,
      totalCount: 2,
      offset: 0,
      limit: 200,
    });
    await renderPage(listStores);

    await screen.findByText('summer-sale');
    expect(screen.queryByRole('note', { name: 'Sandbox' })).toBeNull();
  });
});
