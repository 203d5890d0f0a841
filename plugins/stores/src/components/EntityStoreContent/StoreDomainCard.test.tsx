import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import { renderInTestApp, TestApiProvider } from '@backstage/test-utils';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import { Store, StoreDomain } from '@storeplane/plugin-stores-common';
import { makeReadyStore, STORE_ID } from '@internal/stores-test-utils/store';
import { storesApiRef } from '../../api';
import {
  setupStoresBackend,
  STORES_BASE_URL,
} from '../../__testUtils__/storesBackend';
import {
  ALL_STORE_PERMISSIONS,
  permissionApiAllowing,
} from '../../__testUtils__/fixtures';
import { StoreDomainCard } from './StoreDomainCard';

const BASE = STORES_BASE_URL;
const { server, storesApi } = setupStoresBackend();

const noDomain: StoreDomain = {
  domain: null,
  status: null,
  expectedTarget: 'ingress.example.net',
  checkedAt: null,
  message: null,
};

let entityCount = 0;
async function renderCard(
  domain: StoreDomain,
  options: { store?: Store; allowed?: string[] } = {},
) {
  entityCount += 1;
  server.use(
    http.get(`${BASE}/stores/${STORE_ID}/domain`, () =>
      HttpResponse.json(domain),
    ),
  );
  const onChanged = jest.fn();
  await renderInTestApp(
    <TestApiProvider
      apis={[
        [storesApiRef, storesApi],
        [
          permissionApiRef,
          permissionApiAllowing(options.allowed ?? ALL_STORE_PERMISSIONS).api,
        ],
      ]}
    >
      <StoreDomainCard
        store={options.store ?? makeReadyStore()}
        entityRef={`resource:test-${entityCount}/store-${STORE_ID}`}
        onChanged={onChanged}
      />
    </TestApiProvider>,
  );
  return { onChanged };
}

describe('StoreDomainCard', () => {
  it('sets a domain through a dialog, and shows the refusal inside it', async () => {
    const posted: unknown[] = [];
    server.use(
      http.post(`${BASE}/stores/${STORE_ID}/domain`, async ({ request }) => {
        const body = (await request.json()) as { domain: string };
        posted.push(body);
        if (body.domain === 'taken.example.org') {
          return HttpResponse.json(
            {
              error: {
                name: 'ConflictError',
                message:
                  'The domain taken.example.org belongs to another store; a domain serves one store only',
              },
              response: { statusCode: 409 },
            },
            { status: 409 },
          );
        }
        return HttpResponse.json(
          { ...noDomain, domain: body.domain, message: 'Applying' },
          { status: 202 },
        );
      }),
    );
    const { onChanged } = await renderCard(noDomain);
    expect(
      await screen.findByText(/No custom domain: the store answers/),
    ).toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: 'Set domain' }));
    const dialog = await screen.findByRole('dialog', {
      name: 'Set custom domain',
    });
    const input = within(dialog).getByLabelText('Domain');
    await userEvent.type(input, 'taken.example.org');
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Set domain' }),
    );
    expect(
      await within(dialog).findByText(/belongs to another store/),
    ).toBeInTheDocument();
    expect(onChanged).not.toHaveBeenCalled();

    await userEvent.clear(input);
    await userEvent.type(input, '  Shop.Example.org ');
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Set domain' }),
    );
    await waitFor(() => expect(onChanged).toHaveBeenCalledTimes(1));
    expect(posted).toEqual([
      { domain: 'taken.example.org' },
      { domain: 'shop.example.org' },
    ]);
  });

  it('shows a domain awaiting DNS with the record to create and the last check', async () => {
    await renderCard({
      domain: 'shop.example.org',
      status: 'AwaitingDns',
      expectedTarget: 'ingress.example.net',
      checkedAt: '2026-11-28T06:00:00.000Z',
      message: 'shop.example.org does not point at ingress.example.net yet',
    });
    expect(await screen.findByText('shop.example.org')).toBeInTheDocument();
    expect(screen.getByText('Awaiting DNS')).toBeInTheDocument();
    expect(
      screen.getByText(
        'Create a CNAME record for shop.example.org pointing at ingress.example.net.',
      ),
    ).toBeInTheDocument();
    expect(screen.getByRole('status')).toHaveTextContent(
      /does not point at ingress\.example\.net yet \(checked /,
    );
  });

  it('asks before removing a domain, and removes it only when confirmed', async () => {
    let removed = 0;
    server.use(
      http.delete(`${BASE}/stores/${STORE_ID}/domain`, () => {
        removed += 1;
        return HttpResponse.json(noDomain, { status: 202 });
      }),
    );
    const { onChanged } = await renderCard({
      domain: 'shop.example.org',
      status: 'Active',
      expectedTarget: '203.0.113.7',
      checkedAt: '2026-11-28T06:00:00.000Z',
      message: 'shop.example.org resolves to 203.0.113.7',
    });
    expect(await screen.findByText('Active')).toBeInTheDocument();
    expect(
      screen.getByText(
        'Create an A record for shop.example.org with the address 203.0.113.7.',
      ),
    ).toBeInTheDocument();

    await userEvent.click(
      screen.getByRole('button', { name: 'Remove domain' }),
    );
    let dialog = await screen.findByRole('dialog', {
      name: 'Remove shop.example.org?',
    });
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Cancel' }),
    );
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(removed).toBe(0);

    await userEvent.click(
      screen.getByRole('button', { name: 'Remove domain' }),
    );
    dialog = await screen.findByRole('dialog', {
      name: 'Remove shop.example.org?',
    });
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Remove domain' }),
    );
    await waitFor(() => expect(onChanged).toHaveBeenCalledTimes(1));
    expect(removed).toBe(1);
  });

  it('offers no change without the update permission, while the store is not Ready, or when domains are off', async () => {
    await renderCard(
      { ...noDomain, domain: 'shop.example.org', status: 'Active' },
      { allowed: ['storeplane.store.read'] },
    );
    expect(await screen.findByText('shop.example.org')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /domain/i })).toBeNull();
  });

  it('says when custom domains are off', async () => {
    await renderCard({ ...noDomain, expectedTarget: null });
    expect(
      await screen.findByText(/Custom domains are off on this Storeplane/),
    ).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /domain/i })).toBeNull();
  });

  it('offers no change while the store is being updated', async () => {
    await renderCard(noDomain, {
      store: makeReadyStore({ status: 'Updating', step: 'helmInstall' }),
    });
    expect(
      await screen.findByText(/No custom domain: the store answers/),
    ).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /domain/i })).toBeNull();
  });
});
