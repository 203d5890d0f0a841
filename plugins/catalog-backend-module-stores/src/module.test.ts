import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogProcessingExtensionPoint } from '@backstage/plugin-catalog-node';
import catalogModuleStores from './module';
import { StoreEntityProvider } from './StoreEntityProvider';

describe('catalogModuleStores', () => {
  it('adds the stores entity provider to the catalog', async () => {
    const addEntityProvider = jest.fn();

    await startTestBackend({
      extensionPoints: [
        [catalogProcessingExtensionPoint, { addEntityProvider }],
      ],
      features: [
        catalogModuleStores,
        mockServices.rootConfig.factory({
          data: {
            storeplane: {
              catalog: {
                schedule: {
                  frequency: { minutes: 5 },
                  timeout: { minutes: 1 },
                },
                system: 'shops',
              },
            },
          },
        }),
      ],
    });

    expect(addEntityProvider).toHaveBeenCalledWith(
      expect.any(StoreEntityProvider),
    );
    const provider = addEntityProvider.mock.calls[0][0] as StoreEntityProvider;
    expect(provider.getProviderName()).toBe('storeplane-stores');
  });
});
