import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import { renderInTestApp, TestApiProvider } from '@backstage/test-utils';
import { StoreUsage } from '@storeplane/plugin-stores-common';
import { makeReadyStore, STORE_ID } from '@internal/stores-test-utils/store';
import { storesApiRef } from '../../api';
import {
  setupStoresBackend,
  STORES_BASE_URL,
} from '../../__testUtils__/storesBackend';
import { makeUsage } from '../../__testUtils__/fixtures';
import { StoreQuotaCostCard } from './StoreQuotaCostCard';

const BASE = STORES_BASE_URL;
const { server, storesApi } = setupStoresBackend();

async function renderCard() {
  await renderInTestApp(
    <TestApiProvider apis={[[storesApiRef, storesApi]]}>
      <StoreQuotaCostCard store={makeReadyStore()} />
    </TestApiProvider>,
  );
}

function serveUsage(usage: StoreUsage) {
  server.use(
    http.get(`${BASE}/stores/${STORE_ID}/usage`, () =>
      HttpResponse.json(usage),
    ),
  );
}

function rowOf(resource: string) {
  return screen.getByRole('row', { name: new RegExp(`^${resource}\\b`) });
}

const notReportedYet = (usage: StoreUsage): StoreUsage => ({
  ...usage,
  resources: usage.resources.map(r => ({ ...r, used: null, usedAmount: null })),
  cost: usage.cost && { ...usage.cost, actualMonthly: null },
  note: "The cluster's quota controller has not reported the namespace's use yet: only the plan estimate is known.",
});

describe('StoreQuotaCostCard', () => {
  it('shows each resource used against its quota with a bar, and the plan and actual monthly estimates', async () => {
    serveUsage(makeUsage());
    await renderCard();

    const quota = await screen.findByRole('table', { name: 'Quota use' });
    expect(within(quota).getAllByRole('row')).toHaveLength(5);
    expect(rowOf('CPU')).toHaveTextContent('CPU0.5 cores1 core50%');
    expect(rowOf('Memory')).toHaveTextContent('Memory768 MiB2 GiB38%');
    expect(rowOf('Storage')).toHaveTextContent('Storage10 GiB10 GiB100%');
    expect(rowOf('Pods')).toHaveTextContent('Pods31030%');
    expect(
      screen.getByRole('progressbar', { name: 'CPU used of quota' }),
    ).toHaveAttribute('aria-valuenow', '50');
    expect(
      screen.getByRole('progressbar', { name: 'Storage used of quota' }),
    ).toHaveAttribute('aria-valuenow', '100');

    expect(
      screen.getByText('Plan estimate: €21.50 a month'),
    ).toBeInTheDocument();
    expect(
      screen.getByText('Actual use estimate: €14.25 a month'),
    ).toBeInTheDocument();
    expect(screen.getByText(/^Prices in EUR/)).toBeInTheDocument();
    expect(screen.queryByRole('note')).toBeNull();
  });

  it('shows only the quota and the plan estimate until the cluster reports use, and says why', async () => {
    serveUsage(notReportedYet(makeUsage()));
    await renderCard();

    expect(await screen.findByRole('note')).toHaveTextContent(
      /has not reported the namespace's use yet/,
    );
    expect(rowOf('CPU')).toHaveTextContent('CPUnot reported1 core');
    expect(screen.queryAllByRole('progressbar')).toHaveLength(0);
    expect(
      screen.getByText('Plan estimate: €21.50 a month'),
    ).toBeInTheDocument();
    expect(screen.queryByText(/Actual use estimate/)).toBeNull();
  });

  it('shows use without any estimate when no prices are configured', async () => {
    serveUsage(
      makeUsage({
        cost: null,
        note: 'No prices are configured (storeplane.cost), so no cost is estimated.',
      }),
    );
    await renderCard();

    expect(await screen.findByRole('note')).toHaveTextContent(
      'No prices are configured (storeplane.cost)',
    );
    expect(rowOf('Memory')).toHaveTextContent('Memory768 MiB2 GiB');
    expect(screen.queryByText(/estimate:/)).toBeNull();
    expect(screen.queryByText(/^Prices in/)).toBeNull();
  });

  it('reports a failed load and loads again on request', async () => {
    let calls = 0;
    server.use(
      http.get(`${BASE}/stores/${STORE_ID}/usage`, () => {
        calls += 1;
        if (calls === 1) {
          return HttpResponse.json(
            {
              error: {
                name: 'ServiceUnavailableError',
                message: 'The Kubernetes API server did not answer',
              },
              response: { statusCode: 503 },
            },
            { status: 503 },
          );
        }
        return HttpResponse.json(makeUsage());
      }),
    );
    await renderCard();

    expect(
      await screen.findByText(/Request failed with 503/),
    ).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(
      await screen.findByText('Plan estimate: €21.50 a month'),
    ).toBeInTheDocument();
    expect(calls).toBe(2);
  });
});
