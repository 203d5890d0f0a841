import { configure, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { Entity } from '@backstage/catalog-model';
import {
  registerMswTestHooks,
  renderTestApp,
} from '@backstage/frontend-test-utils';
import catalogPlugin from '@backstage/plugin-catalog/alpha';
import scaffolderPlugin from '@backstage/plugin-scaffolder/alpha';
import { catalogApiMock } from '@backstage/plugin-catalog-react/testUtils';
import { STORE_ID_ANNOTATION } from '@storeplane/plugin-stores-common';
import { makeReadyStore, STORE_ID } from '@internal/stores-test-utils/store';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { makeWorkloads, storeEntity } from '../__testUtils__/fixtures';
import storesPlugin from '.';

// The plugin's own API extension talks to this: discovery and fetch are the test app's real ones.
const STORES_API = 'http://localhost:7007/api/stores';
const server = setupServer();
registerMswTestHooks(server);

const store = makeReadyStore();

// The template the scaffolder module ships, as the scaffolder backend serves its form.
const template = parse(
  readFileSync(
    join(
      __dirname,
      '../../../scaffolder-backend-module-stores/templates/woocommerce-store/template.yaml',
    ),
    'utf8',
  ),
);

// Pages and entity contents load lazily; the first import of the catalog's entity page and
// of the stores components takes a few seconds under jest.
configure({ asyncUtilTimeout: 15_000 });

function serveStores() {
  server.use(
    http.get(`${STORES_API}/stores`, () =>
      HttpResponse.json({
        items: [store],
        totalCount: 1,
        offset: 0,
        limit: 200,
      }),
    ),
    http.get(`${STORES_API}/stores/${STORE_ID}`, () =>
      HttpResponse.json(store),
    ),
    http.get(`${STORES_API}/stores/${STORE_ID}/events`, () =>
      HttpResponse.json({ items: [] }),
    ),
    http.get(
      'http://localhost:7007/api/scaffolder/v2/templates/default/template/woocommerce-store/parameter-schema',
      () =>
        HttpResponse.json({
          title: template.metadata.title,
          steps: template.spec.parameters.map((step: { title: string }) => ({
            title: step.title,
            schema: step,
          })),
        }),
    ),
    http.get(`${STORES_API}/stores/${STORE_ID}/workloads`, () =>
      HttpResponse.json(makeWorkloads()),
    ),
  );
}

const teamA: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Group',
  metadata: { name: 'team-a', namespace: 'default' },
  spec: { type: 'team', children: [] },
};

/** Entities that carry the annotation but are no store, and a Resource without it. */
const notStores: Entity[] = [
  {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: {
      name: 'shop-frontend',
      namespace: 'default',
      annotations: { [STORE_ID_ANNOTATION]: STORE_ID },
    },
    spec: { type: 'website', owner: 'group:default/team-a', lifecycle: 'x' },
  },
  {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Resource',
    metadata: { name: 'orders-db', namespace: 'default' },
    spec: { type: 'database', owner: 'group:default/team-a' },
  },
];

function renderApp(path: string) {
  serveStores();
  return renderTestApp({
    features: [catalogPlugin, scaffolderPlugin, storesPlugin],
    apis: [catalogApiMock({ entities: [storeEntity, teamA, ...notStores] })],
    initialRouteEntries: [path],
  });
}

describe('@storeplane/plugin-stores/alpha in a new-frontend-system app', () => {
  it('adds the Stores page at /stores and its sidebar item', async () => {
    renderApp('/stores');

    expect(
      await screen.findByRole('heading', { name: 'Stores' }),
    ).toBeInTheDocument();
    expect(await screen.findByText(store.name)).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Stores' })).toHaveAttribute(
      'href',
      '/stores',
    );
    // Bound to the scaffolder by default, without any app.routes.bindings.
    expect(
      screen.getByRole('button', { name: 'Create store' }),
    ).toHaveAttribute('href', '/create/templates/default/woocommerce-store');
  });

  it('shows the store card on a store entity and the Store tab with its status', async () => {
    renderApp(`/catalog/default/resource/store-${STORE_ID}`);

    const card = (
      await screen.findByRole('heading', { name: 'Store' })
    ).closest('article, .MuiCard-root') as HTMLElement;
    expect(await within(card).findByText('Plan: small')).toBeInTheDocument();

    const tab = screen.getByRole('link', { name: 'Store' });
    expect(tab).toHaveAttribute(
      'href',
      `/catalog/default/resource/store-${STORE_ID}/store`,
    );
    await userEvent.click(tab);
    // The lifecycle stepper is only on the Store tab.
    expect(await screen.findByText('HTTP health check')).toBeInTheDocument();
  });

  it("gives the scaffolder the template's StoreOwnerPicker field", async () => {
    renderApp('/create/templates/default/woocommerce-store');

    // Without the field extension the form leaves the Owner field out.
    const owner = await screen.findByRole('textbox', { name: /^Owner/ });
    // The picker's choices come from the signed-in user's identity (an autocomplete).
    expect(owner).toHaveAttribute('aria-autocomplete', 'list');
  });

  it.each(notStores.map(entity => [entity.kind, entity.metadata.name]))(
    'adds neither tab nor card to the %s %s',
    async (kind, name) => {
      renderApp(`/catalog/default/${kind.toLocaleLowerCase('en-US')}/${name}`);

      // The overview's cards have rendered (the lazy modules are loaded by the test above).
      expect(
        await screen.findByRole('heading', { name: 'About' }),
      ).toBeInTheDocument();
      expect(screen.getByRole('heading', { name })).toBeInTheDocument();
      expect(screen.queryByRole('heading', { name: 'Store' })).toBeNull();
      expect(screen.queryByRole('link', { name: 'Store' })).toBeNull();
    },
  );
});
