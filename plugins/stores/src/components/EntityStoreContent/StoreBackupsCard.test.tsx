import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import { renderInTestApp, TestApiProvider } from '@backstage/test-utils';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import { Store, StoreBackup } from '@storeplane/plugin-stores-common';
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
import { formatSize, StoreBackupsCard } from './StoreBackupsCard';

const BASE = STORES_BASE_URL;
const { server, storesApi } = setupStoresBackend();

const succeeded: StoreBackup = {
  id: 'b1',
  status: 'Succeeded',
  requestedBy: 'user:default/ann',
  sizeBytes: 48_213,
  createdAt: '2026-11-28T06:00:00.000Z',
  finishedAt: '2026-11-28T06:01:00.000Z',
  message: null,
};
const failed: StoreBackup = {
  ...succeeded,
  id: 'b0',
  status: 'Failed',
  sizeBytes: null,
  message: 'its Job backup-b0 failed: mariadb-dump: Got error: 1045',
};
const pending: StoreBackup = {
  ...succeeded,
  id: 'b2',
  status: 'Pending',
  sizeBytes: null,
  finishedAt: null,
};

let entityCount = 0;
/** Serves `lists` one after the other (the last one again after that). */
async function renderCard(
  lists: StoreBackup[][],
  options: { store?: Store; allowed?: string[] } = {},
) {
  entityCount += 1;
  let reads = 0;
  server.use(
    http.get(`${BASE}/stores/${STORE_ID}/backups`, () => {
      const items = lists[Math.min(reads, lists.length - 1)];
      reads += 1;
      return HttpResponse.json({ items });
    }),
  );
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
      <StoreBackupsCard
        store={options.store ?? makeReadyStore()}
        entityRef={`resource:test-${entityCount}/store-${STORE_ID}`}
      />
    </TestApiProvider>,
  );
}

describe('StoreBackupsCard', () => {
  it('lists backups with status, size, time, who asked and why one failed', async () => {
    await renderCard([[succeeded, failed]]);
    const table = await screen.findByRole('table', { name: 'Backups' });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent('Succeeded');
    expect(rows[0]).toHaveTextContent('47 KiB');
    expect(rows[0]).toHaveTextContent('user:default/ann');
    expect(rows[0].querySelector('time')).toHaveAttribute(
      'dateTime',
      succeeded.createdAt,
    );
    expect(rows[1]).toHaveTextContent('Failed');
    expect(rows[1]).toHaveTextContent(/mariadb-dump: Got error: 1045/);
  });

  it('backs up now for whoever may, and lists the new backup as Pending', async () => {
    const posted: unknown[] = [];
    server.use(
      http.post(`${BASE}/stores/${STORE_ID}/backups`, async ({ request }) => {
        posted.push(await request.json());
        return HttpResponse.json(pending, { status: 202 });
      }),
    );
    await renderCard([[succeeded], [pending, succeeded]]);
    expect(await screen.findByText('Succeeded')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Back up now' }));
    expect(await screen.findByText('Pending')).toBeInTheDocument();
    expect(posted).toEqual([{}]);
    expect(screen.getByRole('button', { name: 'Back up now' })).toBeDisabled();
    expect(
      screen.getByText('A backup is running; one runs at a time.'),
    ).toBeInTheDocument();
  });

  it('shows the refusal the backend gives', async () => {
    server.use(
      http.post(`${BASE}/stores/${STORE_ID}/backups`, () =>
        HttpResponse.json(
          {
            error: {
              name: 'ConflictError',
              message:
                "Store 'x' already has a backup that has not finished; one backup runs at a time, so wait for it and ask again",
            },
            response: { statusCode: 409 },
          },
          { status: 409 },
        ),
      ),
    );
    await renderCard([[]]);
    expect(await screen.findByText('No backups yet.')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Back up now' }));
    expect(
      await screen.findByText(/already has a backup that has not finished/),
    ).toBeInTheDocument();
  });

  it('offers no backup without the permission', async () => {
    await renderCard([[succeeded]], { allowed: ['storeplane.store.read'] });
    expect(await screen.findByText('Succeeded')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Back up now' })).toBeNull();
  });

  it('disables Back up now while the store is not Ready, saying why', async () => {
    await renderCard([[]], {
      store: makeReadyStore({ status: 'Updating', step: 'helmInstall' }),
    });
    expect(await screen.findByText('No backups yet.')).toBeInTheDocument();
    await waitFor(() =>
      expect(
        screen.getByRole('button', { name: 'Back up now' }),
      ).toBeDisabled(),
    );
    expect(
      screen.getByText('Only a Ready store can be backed up.'),
    ).toBeInTheDocument();
  });
});

describe('formatSize', () => {
  it.each([
    [0, '0 bytes'],
    [1023, '1023 bytes'],
    [1024, '1.0 KiB'],
    [48_213, '47 KiB'],
    [5 * 1024 ** 3, '5.0 GiB'],
  ])('%d bytes → %s', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });
});
