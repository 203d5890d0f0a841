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

const noPrices = () =>
  jest.fn().mockResolvedValue({ currency: null, items: [] });

async function renderPage(
  listStores: jest.Mock,
  options: {
    withCreateRoute?: boolean;
    sandbox?: boolean;
    listPlanCosts?: jest.Mock;
    listCostsByOwner?: jest.Mock;
  } = {},
) {
  await renderInTestApp(
    <TestApiProvider
      apis={[
        [
          storesApiRef,
          {
            listStores,
            listPlanCosts: options.listPlanCosts ?? noPrices(),
            listCostsByOwner: options.listCostsByOwner ?? noPrices(),
          },
        ],
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

  it("shows each store's plan estimate, sorts by it both ways, and the backend's total per owner", async () => {
    const listed = [
      ...stores,
      makeReadyStore({
        id: 'shop-3',
        name: 'spring-sale',
        entityRef: 'resource:default/store-shop-3',
        plan: 'medium',
        createdAt: twoHoursAgo,
      }),
      makeReadyStore({
        id: 'shop-4',
        name: 'old-sale',
        entityRef: 'resource:default/store-shop-4',
        plan: 'retired',
        createdAt: twoHoursAgo,
      }),
    ];
    const listStores = jest.fn().mockResolvedValue({
      items: listed,
      totalCount: 4,
      offset: 0,
      limit: 200,
    });
    const listPlanCosts = jest.fn().mockResolvedValue({
      currency: 'EUR',
      items: [
        { engine: 'woocommerce', plan: 'small', monthly: 10.5 },
        { engine: 'woocommerce', plan: 'medium', monthly: 1.25 },
        { engine: 'woocommerce', plan: 'large', monthly: 40 },
        { engine: 'medusa', plan: 'small', monthly: 99 },
      ],
    });
    // The backend's totals cover every store the user may see, not only the ones listed.
    const listCostsByOwner = jest.fn().mockResolvedValue({
      currency: 'EUR',
      items: [
        {
          owner: 'group:default/team-a',
          stores: 7,
          monthly: 123.45,
          unpricedStores: 1,
        },
        {
          owner: 'user:default/ann',
          stores: 1,
          monthly: 40,
          unpricedStores: 0,
        },
      ],
    });
    await renderPage(listStores, { listPlanCosts, listCostsByOwner });

    const header = await screen.findByRole('columnheader', {
      name: /Monthly cost \(EUR\)/,
    });
    await userEvent.hover(within(header).getByText('Monthly cost (EUR)'));
    expect(await screen.findByRole('tooltip')).toHaveTextContent(
      "The plan's monthly estimate at the configured prices (EUR), not metered use",
    );
    const costOf = (name: string) => {
      const row = screen.getByRole('link', { name }).closest('tr')!;
      const column = [...header.parentElement!.children].indexOf(header);
      return row.children[column].textContent;
    };
    expect(costOf('summer-sale')).toBe('€10.50');
    expect(costOf('winter-sale')).toBe('€40.00');
    expect(costOf('spring-sale')).toBe('€1.25');
    expect(costOf('old-sale')).toBe('—');

    const storeNames = () =>
      within(screen.getAllByRole('table')[0])
        .getAllByRole('row')
        .slice(1)
        .map(row => within(row).getAllByRole('link')[0].textContent);
    // The table keeps the direction of the list's default sort (age, newest first) when the
    // user picks another column: the first click puts the most expensive first.
    await userEvent.click(within(header).getByText('Monthly cost (EUR)'));
    expect(storeNames()).toEqual([
      'winter-sale',
      'summer-sale',
      'spring-sale',
      'old-sale',
    ]);
    // A second click clears the sort, a third sorts the other way.
    await userEvent.click(within(header).getByText('Monthly cost (EUR)'));
    await userEvent.click(within(header).getByText('Monthly cost (EUR)'));
    expect(storeNames()).toEqual([
      'old-sale',
      'spring-sale',
      'summer-sale',
      'winter-sale',
    ]);

    const totals = screen.getByRole('region', {
      name: 'Monthly cost per owner',
    });
    expect(
      within(totals)
        .getAllByRole('row')
        .slice(1)
        .map(row =>
          within(row)
            .getAllByRole('cell')
            .map(cell => cell.textContent),
        ),
    ).toEqual([
      ['team-a', '7', '€123.45 (1 without a price)'],
      ['ann', '1', '€40.00'],
    ]);
    expect(listCostsByOwner).toHaveBeenLastCalledWith({
      owner: undefined,
      status: undefined,
    });
    await userEvent.selectOptions(
      screen.getByLabelText('Owner'),
      'group:default/team-a',
    );
    await waitFor(() =>
      expect(listCostsByOwner).toHaveBeenLastCalledWith({
        owner: 'group:default/team-a',
        status: undefined,
      }),
    );
  });

  it('shows "—" for every store and no totals when no prices are configured', async () => {
    const listStores = jest.fn().mockResolvedValue({
      items: stores,
      totalCount: 2,
      offset: 0,
      limit: 200,
    });
    const listCostsByOwner = noPrices();
    await renderPage(listStores, { listCostsByOwner });
    const header = await screen.findByRole('columnheader', {
      name: 'Monthly cost',
    });
    await userEvent.hover(within(header).getByText('Monthly cost'));
    expect(await screen.findByRole('tooltip')).toHaveTextContent(
      'No prices are configured (storeplane.cost)',
    );
    const column = [...header.parentElement!.children].indexOf(header);
    for (const name of ['summer-sale', 'winter-sale']) {
      const row = screen.getByRole('link', { name }).closest('tr')!;
      expect(row.children[column].textContent).toBe('—');
    }
    await waitFor(() => expect(listCostsByOwner).toHaveBeenCalled());
    expect(
      screen.queryByRole('region', { name: 'Monthly cost per owner' }),
    ).toBeNull();
  });

  it('keeps the list newest first whenever the estimates load', async () => {
    const page = {
      items: [
        makeReadyStore({
          id: 'shop-9',
          name: 'older-sale',
          entityRef: 'resource:default/store-shop-9',
          createdAt: new Date(Date.now() - 3 * 3_600_000).toISOString(),
        }),
        // Failed sorts below Ready: a sort that slipped to the Status column would show.
        makeStore({
          id: 'shop-8',
          name: 'newer-sale',
          status: 'Failed',
          entityRef: 'resource:default/store-shop-8',
          createdAt: twoHoursAgo,
        }),
      ],
      totalCount: 2,
      offset: 0,
      limit: 200,
    };
    // The table is on screen, still loading, when the estimates arrive; the list comes after.
    let answerList: (value: unknown) => void = () => {};
    const listStores = jest.fn(
      () => new Promise(resolve => (answerList = resolve)),
    );
    let answerPlanCosts: (value: unknown) => void = () => {};
    const listPlanCosts = jest.fn(
      () => new Promise(resolve => (answerPlanCosts = resolve)),
    );
    await renderPage(listStores, { listPlanCosts });
    await waitFor(() => expect(listPlanCosts).toHaveBeenCalled());
    answerPlanCosts({
      currency: 'EUR',
      items: [{ engine: 'woocommerce', plan: 'small', monthly: 5 }],
    });
    await screen.findByRole('columnheader', { name: /Monthly cost \(EUR\)/ });
    answerList(page);
    await screen.findAllByText('€5.00');
    const names = within(screen.getAllByRole('table')[0])
      .getAllByRole('row')
      .slice(1)
      .map(row => within(row).getAllByRole('link')[0].textContent);
    expect(names).toEqual(['newer-sale', 'older-sale']);
  });

  it('says that sorting orders only the loaded stores when more match', async () => {
    const listStores = jest.fn().mockResolvedValue({
      items: stores,
      totalCount: 350,
      offset: 0,
      limit: 200,
    });
    await renderPage(listStores);
    expect(
      await screen.findByText(
        /Showing 2 of 350 stores \(sorting orders only these\)/,
      ),
    ).toBeInTheDocument();
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
