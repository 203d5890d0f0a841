import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import { configApiRef } from '@backstage/core-plugin-api';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { Store } from '@storeplane/plugin-stores-common';
import { storesApiRef } from '../../api';
import {
  setupStoresBackend,
  STORES_BASE_URL,
} from '../../__testUtils__/storesBackend';
import {
  makeReadyStore,
  makeStore,
  STORE_ID,
} from '@internal/stores-test-utils/store';
import {
  ALL_STORE_PERMISSIONS,
  makeEvent,
  makeUsage,
  makeWorkloads,
  permissionApiAllowing,
  storeEntity,
} from '../../__testUtils__/fixtures';
import { EntityStoreContent } from './EntityStoreContent';

const BASE = STORES_BASE_URL;
const { server, storesApi } = setupStoresBackend();

function serveStore(
  store: Store,
  events = [makeEvent(1, 5)],
  workloads = makeWorkloads(),
) {
  server.use(
    http.get(`${BASE}/stores/${STORE_ID}`, () => HttpResponse.json(store)),
    http.get(`${BASE}/stores/${STORE_ID}/workloads`, () =>
      HttpResponse.json(workloads),
    ),
    http.get(`${BASE}/stores/${STORE_ID}/events`, () =>
      HttpResponse.json({ items: events }),
    ),
    http.get(`${BASE}/stores/${STORE_ID}/usage`, () =>
      HttpResponse.json(makeUsage()),
    ),
    http.get(`${BASE}/stores/${STORE_ID}/domain`, () =>
      HttpResponse.json({
        domain: null,
        status: null,
        expectedTarget: 'ingress.example.net',
        checkedAt: null,
        message: null,
      }),
    ),
    http.get(`${BASE}/stores/${STORE_ID}/backups`, () =>
      HttpResponse.json({ items: [] }),
    ),
  );
}

function backstageError(statusCode: number, name: string, message: string) {
  return HttpResponse.json(
    { error: { name, message }, response: { statusCode } },
    { status: statusCode },
  );
}

// usePermission caches decisions per resource across renders, so every test gets its own entity.
let entityCount = 0;
function uniqueStoreEntity(): Entity {
  entityCount += 1;
  return {
    ...storeEntity,
    metadata: { ...storeEntity.metadata, namespace: `test-${entityCount}` },
  };
}

async function renderContent(
  options: { entity?: Entity; allowed?: string[]; sandbox?: boolean } = {},
) {
  const entity = options.entity ?? uniqueStoreEntity();
  const permissions = permissionApiAllowing(
    options.allowed ?? ALL_STORE_PERMISSIONS,
  );
  await renderInTestApp(
    <TestApiProvider
      apis={[
        [storesApiRef, storesApi],
        [permissionApiRef, permissions.api],
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
      <EntityProvider entity={entity}>
        <EntityStoreContent />
      </EntityProvider>
    </TestApiProvider>,
  );
  return { ...permissions, entityRef: stringifyEntityRef(entity) };
}

describe('EntityStoreContent', () => {
  it('asks for the annotation when the entity has none', async () => {
    await renderContent({
      entity: { ...storeEntity, metadata: { name: 'plain', annotations: {} } },
    });
    expect(screen.getByText(/missing annotation/i)).toBeInTheDocument();
    expect(screen.getByText('storeplane.io/store-id')).toBeInTheDocument();
  });

  it('shows the step a Provisioning store is on, with attempts and the last error', async () => {
    serveStore(
      makeStore({
        status: 'Provisioning',
        step: 'helmInstall',
        attempts: 2,
        nextAttemptAt: new Date(Date.now() + 90_000).toISOString(),
        lastError: 'The Helm job timed out after 5 minutes.',
      }),
    );
    await renderContent();

    const current = await screen.findByText('Helm install job');
    expect(current.closest('[aria-current="step"]')).not.toBeNull();
    expect(
      screen.getByText('Namespace and guardrails').closest('[aria-current]'),
    ).toBeNull();
    // Passed gates are marked completed, later ones are not.
    expect(
      screen
        .getByText('Credentials secret')
        .closest('.MuiStepLabel-root')
        ?.querySelector('.MuiStepIcon-completed'),
    ).not.toBeNull();
    expect(
      screen
        .getByText('HTTP health check')
        .closest('.MuiStepLabel-root')
        ?.querySelector('.MuiStepIcon-completed'),
    ).toBeNull();
    expect(screen.getByLabelText('Status: Provisioning')).toBeInTheDocument();
    expect(
      screen.getByText(/2 failed attempts of this step/),
    ).toHaveTextContent(/next retry in (1 minute|2 minutes|90 seconds)/);
    expect(
      screen.getByText(/The Helm job timed out after 5 minutes\./),
    ).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Retry' })).toBeNull();
    expect(screen.queryByRole('link', { name: /storefront/i })).toBeNull();
  });

  it('says plainly on the sandbox that the pods are simulated and no real WordPress runs', async () => {
    serveStore(makeReadyStore());
    await renderContent({ sandbox: true });

    const notice = await screen.findByRole('note', { name: 'Sandbox' });
    expect(notice).toHaveTextContent(
      'Sandbox: simulated pods, no real WordPress',
    );
    expect(notice).toHaveTextContent(
      /the storefront and admin links open a page served by the simulated pod/,
    );
    expect(notice).toHaveTextContent(
      /Backups and restores do run .* in one throwaway MariaDB/,
    );
  });

  it('shows no sandbox notice on a real cluster', async () => {
    serveStore(makeReadyStore());
    await renderContent();

    await screen.findByRole('link', { name: 'Open storefront' });
    expect(screen.queryByRole('note', { name: 'Sandbox' })).toBeNull();
  });

  it('shows the links of a Ready store and no retry', async () => {
    serveStore(makeReadyStore());
    await renderContent();

    expect(
      await screen.findByRole('link', { name: 'Open storefront' }),
    ).toHaveAttribute('href', 'https://summer-sale-x1y2z.stores.example.com');
    expect(screen.getByRole('link', { name: 'Open wp-admin' })).toHaveAttribute(
      'href',
      'https://summer-sale-x1y2z.stores.example.com/wp-admin/',
    );
    expect(screen.getByLabelText('Status: Ready')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Retry' })).toBeNull();
    expect(screen.getByRole('button', { name: 'Delete' })).toBeEnabled();
  });

  it('shows a Degraded store with what its latest check found, its links, every gate passed and no retry', async () => {
    serveStore(
      makeReadyStore({
        status: 'Degraded',
        lastError:
          'Workloads without all replicas available: Deployment/woocommerce-wordpress',
      }),
    );
    await renderContent();

    expect(
      await screen.findByLabelText('Status: Degraded'),
    ).toBeInTheDocument();
    expect(screen.getByRole('alert')).toHaveTextContent(
      "The store's latest check failed: Workloads without all replicas available: Deployment/woocommerce-wordpress",
    );
    expect(
      screen.getByRole('link', { name: 'Open storefront' }),
    ).toBeInTheDocument();
    // Every gate was passed: none is current.
    expect(
      screen
        .getByLabelText('Provisioning steps')
        .querySelector('[aria-current="step"]'),
    ).toBeNull();
    expect(screen.queryByRole('button', { name: 'Retry' })).toBeNull();
    expect(screen.getByRole('button', { name: 'Delete' })).toBeEnabled();
  });

  it('shows the workloads panel: a crashing pod with its restarts and why it last ended, replicas, volumes, and a link to the Kubernetes tab', async () => {
    serveStore(
      makeReadyStore({
        status: 'Degraded',
        lastError: 'Workloads not available',
      }),
      [makeEvent(1, 5)],
      makeWorkloads({
        pods: [
          {
            name: 'woocommerce-wordpress-7d9f-x2',
            phase: 'Running',
            ready: false,
            restarts: 4,
            waitingReason: 'CrashLoopBackOff',
            lastTermination: {
              container: 'wordpress',
              reason: 'OOMKilled',
              exitCode: 137,
              finishedAt: null,
            },
            createdAt: null,
          },
        ],
        workloads: [
          {
            kind: 'Deployment',
            name: 'woocommerce-wordpress',
            desiredReplicas: 1,
            readyReplicas: 0,
            availableReplicas: 0,
          },
        ],
      }),
    );
    await renderContent();

    const pods = await screen.findByRole('table', { name: 'Pods' });
    const row = within(pods).getByRole('row', {
      name: /woocommerce-wordpress-7d9f-x2/,
    });
    expect(row).toHaveTextContent('Running (CrashLoopBackOff)');
    expect(row).toHaveTextContent('no');
    expect(row).toHaveTextContent('4');
    expect(row).toHaveTextContent('OOMKilled (exit 137)');
    expect(
      screen.getByText(
        'Deployment woocommerce-wordpress: 0 of 1 ready, 0 available',
      ),
    ).toBeInTheDocument();
    expect(
      screen.getByText('Volume woocommerce-wordpress: Bound, 2Gi'),
    ).toBeInTheDocument();
    expect(
      screen.getByRole('link', { name: 'Open the Kubernetes tab' }),
    ).toHaveAttribute('href', expect.stringMatching(/\/kubernetes$/));
  });

  it('shows where a Failed store stopped and retries it', async () => {
    let store = makeStore({
      status: 'Failed',
      step: 'workloads',
      attempts: 5,
      lastError: 'The WordPress pod never became ready: image pull failed.',
    });
    const retried = jest.fn();
    serveStore(store);
    server.use(
      http.post(`${BASE}/stores/${STORE_ID}/retry`, () => {
        retried();
        store = makeStore({ status: 'Provisioning', step: 'workloads' });
        serveStore(store);
        return HttpResponse.json(store);
      }),
    );
    await renderContent();

    expect(await screen.findByText(/image pull failed/)).toBeInTheDocument();
    const failedStep = screen
      .getByText('Workloads available')
      .closest('.MuiStepLabel-root') as HTMLElement;
    expect(within(failedStep).getByText('Failed')).toBeInTheDocument();
    expect(
      failedStep.querySelector('.MuiStepLabel-label.Mui-error'),
    ).not.toBeNull();

    await userEvent.click(screen.getByRole('button', { name: 'Retry' }));
    await waitFor(() => expect(retried).toHaveBeenCalledTimes(1));
    expect(
      await screen.findByLabelText('Status: Provisioning'),
    ).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Retry' })).toBeNull();
  });

  it('hides Retry and Delete without their permissions', async () => {
    serveStore(makeStore({ status: 'Failed', step: 'health', lastError: 'x' }));
    const permissions = await renderContent({
      allowed: ['storeplane.store.read'],
    });
    expect(await screen.findByLabelText('Status: Failed')).toBeInTheDocument();
    await waitFor(() =>
      expect(permissions.requests.map(r => r.permission)).toEqual(
        expect.arrayContaining([
          'storeplane.store.retry',
          'storeplane.store.delete',
        ]),
      ),
    );
    expect(permissions.requests[0].resourceRef).toBe(permissions.entityRef);
    expect(screen.queryByRole('button', { name: 'Retry' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Delete' })).toBeNull();
  });

  it('shows deletion steps for a Deleting store and offers no delete', async () => {
    serveStore(makeStore({ status: 'Deleting', step: 'namespaceDeletion' }));
    await renderContent();
    const current = await screen.findByText('Namespace deleted');
    expect(current.closest('[aria-current="step"]')).not.toBeNull();
    expect(screen.queryByText('Helm install job')).toBeNull();
    expect(screen.getByText(/being deleted/)).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Delete' })).toBeNull();
  });

  it('deletes a store only after the user confirms in a dialog naming it', async () => {
    const deleted = jest.fn();
    serveStore(makeReadyStore());
    server.use(
      http.delete(`${BASE}/stores/${STORE_ID}`, () => {
        deleted();
        const store = makeReadyStore({
          status: 'Deleting',
          step: 'helmUninstall',
        });
        serveStore(store);
        return HttpResponse.json(store, { status: 202 });
      }),
    );
    await renderContent();

    await userEvent.click(
      await screen.findByRole('button', { name: 'Delete' }),
    );
    const dialog = await screen.findByRole('dialog');
    expect(
      within(dialog).getByText('Delete store summer-sale?'),
    ).toBeInTheDocument();

    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Cancel' }),
    );
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(deleted).not.toHaveBeenCalled();

    await userEvent.click(screen.getByRole('button', { name: 'Delete' }));
    await userEvent.click(
      within(await screen.findByRole('dialog')).getByRole('button', {
        name: 'Delete store',
      }),
    );
    await waitFor(() => expect(deleted).toHaveBeenCalledTimes(1));
    expect(
      await screen.findByLabelText('Status: Deleting'),
    ).toBeInTheDocument();
  });

  it('renames a store through a dialog that checks the name before sending it', async () => {
    const sent: unknown[] = [];
    serveStore(makeReadyStore());
    server.use(
      http.patch(`${BASE}/stores/${STORE_ID}`, async ({ request }) => {
        const body = (await request.json()) as { displayName: string };
        sent.push(body);
        const store = makeReadyStore({ displayName: body.displayName });
        serveStore(store);
        return HttpResponse.json(store);
      }),
    );
    await renderContent();

    await userEvent.click(
      await screen.findByRole('button', { name: 'Rename' }),
    );
    const dialog = await screen.findByRole('dialog');
    const field = within(dialog).getByLabelText('Display name');
    const submit = within(dialog).getByRole('button', { name: 'Rename' });
    expect(submit).toBeDisabled();
    await userEvent.clear(field);
    await userEvent.type(field, '   ');
    expect(
      within(dialog).getByText('displayName must not be blank'),
    ).toBeInTheDocument();
    expect(submit).toBeDisabled();
    await userEvent.clear(field);
    await userEvent.type(field, ' Summer Sale 2026 ');
    await userEvent.click(submit);

    await waitFor(() =>
      expect(sent).toEqual([{ displayName: 'Summer Sale 2026' }]),
    );
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(
      await screen.findByText(/^Summer Sale 2026 · plan small/),
    ).toBeInTheDocument();
  });

  it('upgrades a Ready store only after the user confirms, and shows it Updating', async () => {
    const upgraded = jest.fn();
    serveStore(makeReadyStore({ chartVersion: '0.1.0', helmRevision: 1 }));
    server.use(
      http.post(`${BASE}/stores/${STORE_ID}/upgrade`, () => {
        upgraded();
        const store = makeReadyStore({
          status: 'Updating',
          step: 'guardrails',
          chartVersion: '0.1.0',
          helmRevision: 1,
        });
        serveStore(store);
        return HttpResponse.json(store, { status: 202 });
      }),
    );
    await renderContent();

    await userEvent.click(
      await screen.findByRole('button', { name: 'Upgrade' }),
    );
    const dialog = await screen.findByRole('dialog');
    expect(dialog).toHaveTextContent(
      /from chart 0\.1\.0, revision 1, to the chart this Storeplane ships/,
    );
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Cancel' }),
    );
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(upgraded).not.toHaveBeenCalled();

    await userEvent.click(screen.getByRole('button', { name: 'Upgrade' }));
    await userEvent.click(
      within(await screen.findByRole('dialog')).getByRole('button', {
        name: 'Upgrade store',
      }),
    );
    await waitFor(() => expect(upgraded).toHaveBeenCalledTimes(1));
    expect(
      await screen.findByLabelText('Status: Updating'),
    ).toBeInTheDocument();
    expect(screen.getByLabelText('Update steps')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Upgrade' })).toBeNull();
  });

  it("says why the backend refused a change, in the backend's words", async () => {
    serveStore(makeReadyStore({ chartVersion: '0.1.0' }));
    server.use(
      http.post(`${BASE}/stores/${STORE_ID}/upgrade`, () =>
        backstageError(
          409,
          'ConflictError',
          "Store 'summer-sale-x1y2z' already runs chart version 0.1.0, the version this backend ships; there is nothing to upgrade",
        ),
      ),
    );
    await renderContent();
    await userEvent.click(
      await screen.findByRole('button', { name: 'Upgrade' }),
    );
    await userEvent.click(
      within(await screen.findByRole('dialog')).getByRole('button', {
        name: 'Upgrade store',
      }),
    );
    expect(
      await screen.findByText(
        /^Upgrade failed: Store 'summer-sale-x1y2z' already runs chart version 0\.1\.0/,
      ),
    ).toBeInTheDocument();
  });

  it('offers no rename without storeplane.store.update', async () => {
    serveStore(makeReadyStore());
    await renderContent({
      allowed: ALL_STORE_PERMISSIONS.filter(
        p => p !== 'storeplane.store.update',
      ),
    });
    expect(
      await screen.findByRole('button', { name: 'Delete' }),
    ).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Rename' })).toBeNull();
  });

  it('lists events newest first under Activity with their level', async () => {
    serveStore(makeReadyStore(), [
      makeEvent(1, 30, { message: 'Namespace created with guardrails' }),
      makeEvent(3, 1, { message: 'Store is ready', type: 'store.ready' }),
      makeEvent(2, 10, {
        level: 'warning',
        message: 'Helm job failed, retrying',
        type: 'retry.scheduled',
      }),
    ]);
    await renderContent();

    expect(
      await screen.findByRole('heading', { name: 'Activity' }),
    ).toBeInTheDocument();
    const items = within(
      screen.getByRole('list', { name: 'Store activity' }),
    ).getAllByRole('listitem');
    expect(items.map(item => item.getAttribute('aria-label'))).toEqual([
      'info: Store is ready',
      'warning: Helm job failed, retrying',
      'info: Namespace created with guardrails',
    ]);
    expect(within(items[0]).getByText('1 minute ago')).toBeInTheDocument();
    expect(
      within(items[1]).getByText('warning', { selector: '.MuiChip-label' }),
    ).toBeInTheDocument();
    expect(within(items[1]).getByTitle('warning')).toBeInTheDocument();
  });

  describe('content suggestions', () => {
    it('are not offered without their permission', async () => {
      serveStore(makeReadyStore());
      await renderContent({
        allowed: ['storeplane.store.read', 'storeplane.store.delete'],
      });
      expect(
        await screen.findByRole('button', { name: 'Delete' }),
      ).toBeEnabled();
      expect(
        screen.queryByRole('button', {
          name: 'Suggest a title, tagline and products',
        }),
      ).toBeNull();
    });

    it('are asked for on demand and say which source produced them', async () => {
      const user = userEvent.setup();
      serveStore(makeReadyStore());
      server.use(
        http.post(`${BASE}/stores/${STORE_ID}/content-suggestions`, () =>
          HttpResponse.json({
            title: 'Summer Sale',
            tagline: 'Sunny deals all year.',
            products: [
              { name: 'Beach Towel', description: 'Soft.', price: '19.00' },
              { name: 'Sun Hat', description: 'Wide brim.', price: '25.00' },
              { name: 'Flip Flops', description: 'Comfy.', price: '12.50' },
            ],
            source: 'fallback',
            fallbackReason: 'The endpoint answered HTTP 503.',
          }),
        ),
      );
      await renderContent();
      await user.click(
        await screen.findByRole('button', {
          name: 'Suggest a title, tagline and products',
        }),
      );
      const region = await screen.findByRole('region', {
        name: 'Suggested content',
      });
      expect(within(region).getByText('Sunny deals all year.')).toBeVisible();
      expect(within(region).getByText('Sun Hat — 25.00')).toBeVisible();
      expect(within(region).getByRole('note')).toHaveTextContent(
        'Built-in suggestion. The endpoint answered HTTP 503.',
      );
      expect(
        screen.getByRole('button', { name: 'Suggest again' }),
      ).toBeEnabled();
    });
  });

  describe('credentials', () => {
    it('are not offered without the credentials permission', async () => {
      serveStore(makeReadyStore());
      await renderContent({
        allowed: ['storeplane.store.read', 'storeplane.store.delete'],
      });
      expect(
        await screen.findByRole('button', { name: 'Delete' }),
      ).toBeEnabled();
      expect(
        screen.queryByRole('button', { name: 'Show credentials' }),
      ).toBeNull();
    });

    it('are fetched on demand each time, copyable, and gone when hidden', async () => {
      const user = userEvent.setup();
      const writeText = jest
        .spyOn(navigator.clipboard, 'writeText')
        .mockResolvedValue(undefined);
      const fetched = jest.fn();
      serveStore(makeReadyStore());
      server.use(
        http.get(`${BASE}/stores/${STORE_ID}/credentials`, () => {
          fetched();
          return HttpResponse.json({
            adminUsername: 'admin',
            adminPassword: 's3cret-Pa55',
            adminUrl: 'https://summer-sale.stores.example.com/wp-admin',
          });
        }),
      );
      await renderContent();

      await user.click(
        await screen.findByRole('button', { name: 'Show credentials' }),
      );
      expect(await screen.findByText('s3cret-Pa55')).toBeInTheDocument();
      expect(screen.getByText('admin')).toBeInTheDocument();

      await user.click(screen.getByRole('button', { name: 'Copy password' }));
      expect(writeText).toHaveBeenCalledWith('s3cret-Pa55');
      expect(screen.getByRole('status')).toHaveTextContent('Password copied');

      await user.click(
        screen.getByRole('button', { name: 'Hide credentials' }),
      );
      expect(screen.queryByText('s3cret-Pa55')).toBeNull();

      await user.click(
        screen.getByRole('button', { name: 'Show credentials' }),
      );
      expect(await screen.findByText('s3cret-Pa55')).toBeInTheDocument();
      expect(fetched).toHaveBeenCalledTimes(2);
    });
  });

  describe('errors', () => {
    it('explains an unreachable backend', async () => {
      server.use(
        http.get(`${BASE}/stores/${STORE_ID}`, () => HttpResponse.error()),
        http.get(`${BASE}/stores/${STORE_ID}/events`, () =>
          HttpResponse.error(),
        ),
      );
      await renderContent();
      expect(
        await screen.findByText(/Could not reach the stores backend/),
      ).toBeInTheDocument();
      expect(screen.getByRole('button', { name: 'Try again' })).toBeEnabled();
    });

    it('says the user may not see the store on 403', async () => {
      server.use(
        http.get(`${BASE}/stores/${STORE_ID}`, () =>
          backstageError(403, 'NotAllowedError', 'Unauthorized'),
        ),
        http.get(`${BASE}/stores/${STORE_ID}/events`, () =>
          backstageError(403, 'NotAllowedError', 'Unauthorized'),
        ),
      );
      await renderContent();
      expect(
        await screen.findByText(/You are not allowed to see this store/),
      ).toBeInTheDocument();
    });

    it('says the store was deleted on 404', async () => {
      server.use(
        http.get(`${BASE}/stores/${STORE_ID}`, () =>
          backstageError(404, 'NotFoundError', `No store ${STORE_ID}`),
        ),
        http.get(`${BASE}/stores/${STORE_ID}/events`, () =>
          HttpResponse.json({ items: [] }),
        ),
      );
      await renderContent();
      expect(
        await screen.findByText('This store was deleted'),
      ).toBeInTheDocument();
    });

    it('shows the backend error of other failed responses', async () => {
      server.use(
        http.get(`${BASE}/stores/${STORE_ID}`, () =>
          backstageError(500, 'Error', 'database is locked'),
        ),
        http.get(`${BASE}/stores/${STORE_ID}/events`, () =>
          HttpResponse.json({ items: [] }),
        ),
      );
      await renderContent();
      expect(
        await screen.findByText(/Could not load the store/),
      ).toBeInTheDocument();
      expect(screen.getAllByText(/database is locked/).length).toBeGreaterThan(
        0,
      );
    });

    it('shows progress while the backend is slow', async () => {
      server.use(
        http.get(`${BASE}/stores/${STORE_ID}`, () => new Promise(() => {})),
        http.get(
          `${BASE}/stores/${STORE_ID}/events`,
          () => new Promise(() => {}),
        ),
      );
      await renderContent();
      expect(await screen.findByTestId('progress')).toBeInTheDocument();
    });
  });
});
