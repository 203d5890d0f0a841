import { Entity } from '@backstage/catalog-model';
import { isStoreAvailable, storesPlugin } from './index';
import storesAlphaPlugin from './alpha';

describe('storesPlugin', () => {
  it('provides the stores API and the create-store external route', () => {
    expect(storesPlugin.getId()).toBe('stores');
    expect([...storesPlugin.getApis()].map(factory => factory.api.id)).toEqual([
      'plugin.storeplane.stores',
    ]);
    expect(Object.keys(storesPlugin.externalRoutes)).toEqual(['createStore']);
  });

  it('recognises store entities by their annotation', () => {
    const entity = (annotations: Record<string, string>): Entity => ({
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Resource',
      metadata: { name: 'store-x', annotations },
    });
    expect(isStoreAvailable(entity({ 'storeplane.io/store-id': 'x' }))).toBe(
      true,
    );
    expect(isStoreAvailable(entity({}))).toBe(false);
  });

  it('exports a new-frontend-system plugin with the API, the Store tab and the card', () => {
    expect(storesAlphaPlugin.pluginId).toBe('stores');
    const { extensions } = storesAlphaPlugin as unknown as {
      extensions: { id: string; attachTo: { id: string; input: string } }[];
    };
    expect(extensions.map(e => [e.id, e.attachTo.id])).toEqual([
      ['api:stores', 'root'],
      ['entity-content:stores/store', 'page:catalog/entity'],
      ['entity-card:stores/store', 'entity-content:catalog/overview'],
    ]);
  });
});
