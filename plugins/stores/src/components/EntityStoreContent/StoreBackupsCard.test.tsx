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

describe('StoreBackupsCard downloads and restores', () => {
  const saved: Array<{ fileName: string; content: Blob }> = [];
  beforeEach(() => {
    saved.length = 0;
    let content: Blob | undefined;
    // jsdom has no object URLs and does not navigate: record what the browser would save.
    URL.createObjectURL = jest.fn((blob: Blob) => {
      content = blob;
      return 'blob:backup';
    });
    URL.revokeObjectURL = jest.fn();
    jest
      .spyOn(HTMLAnchorElement.prototype, 'click')
      .mockImplementation(function click(this: HTMLAnchorElement) {
        saved.push({ fileName: this.download, content: content! });
      });
  });
  afterEach(() => jest.restoreAllMocks());

  it('downloads a Succeeded backup under the name the backend gives it', async () => {
    const authorizations: Array<string | null> = [];
    server.use(
      http.get(
        `${BASE}/stores/${STORE_ID}/backups/b1/download`,
        ({ request }) => {
          authorizations.push(request.headers.get('Authorization'));
          return new HttpResponse(new Uint8Array([0x1f, 0x8b, 8, 0]), {
            headers: {
              'Content-Type': 'application/gzip',
              'Content-Disposition': `attachment; filename="${STORE_ID}-20261128T060000Z.sql.gz"`,
            },
          });
        },
      ),
    );
    await renderCard([[succeeded, failed]]);
    const table = await screen.findByRole('table', { name: 'Backups' });
    const [, first, second] = within(table).getAllByRole('row');
    expect(
      within(second).queryByRole('button', { name: /Download/ }),
    ).toBeNull();
    await userEvent.click(
      within(first).getByRole('button', { name: /Download backup/ }),
    );
    await waitFor(() => expect(saved).toHaveLength(1));
    expect(saved[0].fileName).toBe(`${STORE_ID}-20261128T060000Z.sql.gz`);
    expect(new Uint8Array(await saved[0].content.arrayBuffer())).toEqual(
      new Uint8Array([0x1f, 0x8b, 8, 0]),
    );
    expect(authorizations).toHaveLength(1);
    expect(URL.revokeObjectURL).toHaveBeenCalledWith('blob:backup');
  });

  it('shows why a download failed', async () => {
    server.use(
      http.get(`${BASE}/stores/${STORE_ID}/backups/b1/download`, () =>
        HttpResponse.json(
          {
            error: {
              name: 'ServiceUnavailableError',
              message:
                "The API server's proxy to the backup reader answered HTTP 502; try again in a minute",
            },
            response: { statusCode: 503 },
          },
          { status: 503 },
        ),
      ),
    );
    await renderCard([[succeeded]]);
    await userEvent.click(
      await screen.findByRole('button', { name: /Download backup/ }),
    );
    expect(
      await screen.findByText(/proxy to the backup reader answered HTTP 502/),
    ).toBeInTheDocument();
    expect(saved).toEqual([]);
  });

  it('restores a backup only after confirming, and not when cancelled', async () => {
    const restored: string[] = [];
    server.use(
      http.post(
        `${BASE}/stores/${STORE_ID}/backups/:backupId/restore`,
        ({ params }) => {
          restored.push(String(params.backupId));
          return HttpResponse.json(
            makeReadyStore({ status: 'Restoring', step: 'restore' }),
            { status: 202 },
          );
        },
      ),
    );
    await renderCard([[succeeded]]);
    const restore = await screen.findByRole('button', {
      name: /Restore backup of/,
    });
    await userEvent.click(restore);
    const dialog = await screen.findByRole('dialog');
    expect(dialog).toHaveTextContent(/database is replaced by the backup/);
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Cancel' }),
    );
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(restored).toEqual([]);

    await userEvent.click(restore);
    await userEvent.click(
      within(await screen.findByRole('dialog')).getByRole('button', {
        name: 'Restore backup',
      }),
    );
    await waitFor(() => expect(restored).toEqual(['b1']));
  });

  it('offers Download with the backup permission and Restore with the restore permission only', async () => {
    await renderCard([[succeeded]], {
      allowed: ['storeplane.store.read', 'storeplane.store.backup'],
    });
    expect(
      await screen.findByRole('button', { name: /Download backup/ }),
    ).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /Restore backup/ })).toBeNull();
  });

  it('disables Restore while the store is not Ready', async () => {
    await renderCard([[succeeded]], {
      store: makeReadyStore({ status: 'Restoring', step: 'restore' }),
    });
    await waitFor(() =>
      expect(
        screen.getByRole('button', { name: /Restore backup of/ }),
      ).toBeDisabled(),
    );
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
