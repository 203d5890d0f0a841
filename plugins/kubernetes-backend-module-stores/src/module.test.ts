import {
  mockCredentials,
  mockServices,
  registerMswTestHooks,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import {
  ClusterDetails,
  KubernetesClusterSupplierFactory,
  kubernetesClusterSupplierExtensionPoint,
  KubernetesServiceLocatorFactory,
  kubernetesServiceLocatorExtensionPoint,
} from '@backstage/plugin-kubernetes-node';
import { JsonObject } from '@backstage/types';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { kubernetesModuleStores } from './module';

const cluster = (name: string): ClusterDetails => ({
  name,
  url: `https://${name}.example`,
  authMetadata: {},
});

const entity = (annotations: Record<string, string>): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Resource',
  metadata: { name: 'x', annotations },
  spec: {},
});

describe('kubernetesModuleStores', () => {
  const server = setupServer(
    http.get('https://api.example/apis', () =>
      HttpResponse.json({ kind: 'APIGroupList', groups: [] }),
    ),
  );
  registerMswTestHooks(server);

  async function start(config: JsonObject) {
    const suppliers: KubernetesClusterSupplierFactory[] = [];
    const locators: KubernetesServiceLocatorFactory[] = [];
    await startTestBackend({
      extensionPoints: [
        [
          kubernetesClusterSupplierExtensionPoint,
          { addClusterSupplier: (s: any) => suppliers.push(s) },
        ],
        [
          kubernetesServiceLocatorExtensionPoint,
          { addServiceLocator: (l: any) => locators.push(l) },
        ],
      ],
      features: [
        kubernetesModuleStores,
        mockServices.rootConfig.factory({ data: config }),
      ],
    });
    return { suppliers, locators };
  }

  const storeplane = {
    storeplane: {
      kubernetes: { source: 'url', url: 'https://api.example', token: 't' },
    },
  };

  it("adds the stores' cluster next to the operator's clusters", async () => {
    const { suppliers } = await start({
      ...storeplane,
      kubernetes: { clusterLocatorMethods: [] },
    });
    expect(suppliers).toHaveLength(1);
    const getDefault = jest.fn(async () => ({
      getClusters: async () => [cluster('other')],
    }));
    const supplier = await suppliers[0]({ getDefault });
    expect(getDefault).toHaveBeenCalled();
    const clusters = await supplier.getClusters({
      credentials: mockCredentials.none(),
    });
    expect(clusters.map(c => c.name)).toEqual(['other', 'storeplane']);
  });

  it('does not ask for the default supplier when the operator configured no clusters (it would fail)', async () => {
    const { suppliers } = await start(storeplane);
    const getDefault = jest.fn();
    await suppliers[0]({ getDefault });
    expect(getDefault).not.toHaveBeenCalled();
  });

  it('sends store entities to the stores cluster only, and other entities elsewhere', async () => {
    const { locators } = await start(storeplane);
    const all = [cluster('other'), cluster('storeplane')];
    const locator = await locators[0]({
      getDefault: async () => ({
        getClustersByEntity: async () => ({ clusters: all }),
      }),
      clusterSupplier: { getClusters: async () => all },
    });
    const context = {
      objectTypesToFetch: new Set<any>(),
      customResources: [],
      credentials: mockCredentials.none(),
    };

    const forStore = await locator.getClustersByEntity(
      entity({ 'storeplane.io/store-id': 'shop-x1y2z' }),
      context,
    );
    expect(forStore.clusters.map(c => c.name)).toEqual(['storeplane']);
    const forOther = await locator.getClustersByEntity(
      entity({ 'backstage.io/kubernetes-id': 'billing' }),
      context,
    );
    expect(forOther.clusters.map(c => c.name)).toEqual(['other']);
  });
});
