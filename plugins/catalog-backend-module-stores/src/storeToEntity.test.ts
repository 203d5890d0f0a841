import {
  FieldFormatEntityPolicy,
  SchemaValidEntityPolicy,
  resourceEntityV1alpha1Validator,
} from '@backstage/catalog-model';
import {
  Store,
  STORE_STATUSES,
  StoreStatus,
} from '@storeplane/plugin-stores-common';
import { makeStore as makeSharedStore } from '@internal/stores-test-utils/store';
import { storeToEntity } from './storeToEntity';

const makeStore = (patch: Partial<Store> = {}) =>
  makeSharedStore({ description: 'Summer sale landing shop', ...patch });

const ready = {
  status: 'Ready' as const,
  step: null,
  storefrontUrl: 'https://summer-sale.shops.example.com',
  adminUrl: 'https://summer-sale.shops.example.com/wp-admin',
};

describe('storeToEntity', () => {
  it("titles the entity with the store's display name", () => {
    const entity = storeToEntity(
      makeStore({ ...ready, displayName: 'Summer Sale 2026' }),
      { system: 'storeplane' },
    );
    expect(entity.metadata.title).toBe('Summer Sale 2026');
    expect(entity.metadata.name).toBe('store-summer-sale-x1y2z');
  });

  it('builds a Resource entity of a ready store with its links', () => {
    expect(storeToEntity(makeStore(ready), { system: 'storeplane' })).toEqual({
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Resource',
      metadata: {
        name: 'store-summer-sale-x1y2z',
        title: 'summer-sale',
        description: 'Summer sale landing shop',
        annotations: {
          'storeplane.io/store-id': 'summer-sale-x1y2z',
          'backstage.io/kubernetes-id': 'store-summer-sale-x1y2z',
          'backstage.io/kubernetes-namespace': 'store-summer-sale-x1y2z',
          'backstage.io/managed-by-location': 'storeplane:stores',
          'backstage.io/managed-by-origin-location': 'storeplane:stores',
        },
        labels: {
          'storeplane.io/status': 'ready',
          'storeplane.io/plan': 'small',
        },
        links: [
          {
            url: 'https://summer-sale.shops.example.com',
            title: 'Storefront',
            type: 'storefront',
          },
          {
            url: 'https://summer-sale.shops.example.com/wp-admin',
            title: 'WordPress admin',
            type: 'admin',
            icon: 'dashboard',
          },
        ],
      },
      spec: {
        type: 'woocommerce-store',
        owner: 'group:default/team-a',
        system: 'storeplane',
      },
    });
  });

  it.each<[StoreStatus, Partial<Store>]>([
    ['Provisioning', {}],
    ['Failed', { lastError: 'Helm install job failed', storefrontUrl: null }],
    // A store on its way out keeps its URLs in the API, but they no longer lead anywhere.
    [
      'Deleting',
      {
        step: 'helmUninstall',
        storefrontUrl: ready.storefrontUrl,
        adminUrl: ready.adminUrl,
      },
    ],
  ])('labels a %s store and gives it no links', (status, patch) => {
    const entity = storeToEntity(makeStore({ status, ...patch }), {
      system: 'storeplane',
    });
    expect(entity.metadata.labels).toEqual({
      'storeplane.io/status': status.toLowerCase(),
      'storeplane.io/plan': 'small',
    });
    expect(entity.metadata.links).toBeUndefined();
  });

  it('leaves out links whose URL is missing and an empty description', () => {
    const entity = storeToEntity(
      makeStore({ ...ready, adminUrl: null, description: undefined }),
      { system: 'shops' },
    );
    expect(entity.metadata.links).toEqual([
      expect.objectContaining({ title: 'Storefront' }),
    ]);
    expect(entity.metadata).not.toHaveProperty('description');
    expect(entity.spec?.system).toBe('shops');
  });

  it('escapes Markdown in the description, so a phishing link shows as text', () => {
    const entity = storeToEntity(
      makeStore({
        ...ready,
        description: 'Pay [here](https://evil.example) or www.evil.example',
      }),
      { system: 'shops' },
    );
    const description = entity.metadata.description!;
    // Link syntax is escaped, and nothing URL-like is left for GFM to autolink (the
    // rendering itself is tested in plugins/stores with the catalog's MarkdownContent).
    expect(description).toContain('\\[here\\]\\(https');
    expect(description).not.toMatch(/https?:\/\/|www\./);
    expect(description.replace(/[\\\u2060]/g, '')).toBe(
      'Pay [here](https://evil.example) or www.evil.example',
    );
  });

  it('labels a Degraded store and keeps its links: its shop exists, its latest check failed', () => {
    const entity = storeToEntity(
      makeStore({
        ...ready,
        status: 'Degraded',
        lastError: 'WordPress answered HTTP 500',
      }),
      { system: 'storeplane' },
    );
    expect(entity.metadata.labels?.['storeplane.io/status']).toBe('degraded');
    expect(entity.metadata.links?.map(l => l.title)).toEqual([
      'Storefront',
      'WordPress admin',
    ]);
  });

  it.each<StoreStatus>(STORE_STATUSES)(
    'produces an entity the catalog accepts when %s',
    async status => {
      const entity = storeToEntity(makeStore({ ...ready, status }), {
        system: 'storeplane',
      });
      await expect(new SchemaValidEntityPolicy().enforce(entity)).resolves.toBe(
        entity,
      );
      await expect(new FieldFormatEntityPolicy().enforce(entity)).resolves.toBe(
        entity,
      );
      await expect(resourceEntityV1alpha1Validator.check(entity)).resolves.toBe(
        true,
      );
    },
  );
});
