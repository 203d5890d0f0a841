import { screen } from '@testing-library/react';
import { renderInTestApp, TestApiProvider } from '@backstage/test-utils';
import {
  EntityProvider,
  entityRouteRef,
} from '@backstage/plugin-catalog-react';
import { storesApiRef, StoresApi } from '../../api';
import {
  makeReadyStore,
  makeStore,
  STORE_ID,
} from '@internal/stores-test-utils/store';
import { storeEntity } from '../../__testUtils__/fixtures';
import { EntityStoreCard } from './EntityStoreCard';

async function renderCard(storesApi: Partial<StoresApi>) {
  await renderInTestApp(
    <TestApiProvider apis={[[storesApiRef, storesApi]]}>
      <EntityProvider entity={storeEntity}>
        <EntityStoreCard />
      </EntityProvider>
    </TestApiProvider>,
    { mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef } },
  );
}

describe('EntityStoreCard', () => {
  it('shows status, plan, the current step and a link to the Store tab', async () => {
    await renderCard({
      getStore: jest
        .fn()
        .mockResolvedValue(makeStore({ step: 'workloads', plan: 'medium' })),
    });

    expect(
      await screen.findByLabelText('Status: Provisioning'),
    ).toBeInTheDocument();
    expect(screen.getByText('Plan: medium')).toBeInTheDocument();
    expect(screen.getByText('Step: Workloads available')).toBeInTheDocument();
    expect(screen.queryByRole('link', { name: 'Open storefront' })).toBeNull();
    expect(
      screen.getByRole('link', { name: /View store details/ }),
    ).toHaveAttribute(
      'href',
      `/catalog/default/resource/store-${STORE_ID}/store`,
    );
  });

  it('shows the store links when Ready', async () => {
    await renderCard({
      getStore: jest.fn().mockResolvedValue(makeReadyStore()),
    });

    expect(
      await screen.findByRole('link', { name: 'Open storefront' }),
    ).toHaveAttribute('href', 'https://summer-sale-x1y2z.stores.example.com');
    expect(screen.getByRole('link', { name: 'Open wp-admin' })).toHaveAttribute(
      'href',
      'https://summer-sale-x1y2z.stores.example.com/wp-admin/',
    );
    expect(screen.getByText('Step: All checks passed')).toBeInTheDocument();
  });

  it('shows where a Failed store stopped and why', async () => {
    await renderCard({
      getStore: jest.fn().mockResolvedValue(
        makeStore({
          status: 'Failed',
          step: 'health',
          lastError: 'WordPress answered 502 for 10 minutes.',
        }),
      ),
    });
    expect(
      await screen.findByText('Step: Stopped at: HTTP health check'),
    ).toBeInTheDocument();
    expect(
      screen.getByText('WordPress answered 502 for 10 minutes.'),
    ).toBeInTheDocument();
  });

  it('explains a failed request instead of crashing', async () => {
    await renderCard({
      getStore: jest.fn().mockRejectedValue(new TypeError('Failed to fetch')),
    });
    expect(
      await screen.findByText(/Could not reach the stores backend/),
    ).toBeInTheDocument();
  });
});
