import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import {
  kubernetesClusterSupplierExtensionPoint,
  kubernetesServiceLocatorExtensionPoint,
} from '@backstage/plugin-kubernetes-node';
import { readKubernetesSettings } from '@storeplane/plugin-stores-node';
import { StoreplaneClusterSupplier } from './StoreplaneClusterSupplier';
import { StoresServiceLocator } from './StoresServiceLocator';

/**
 * Shows the stores' cluster (`storeplane.kubernetes`) on Backstage's Kubernetes tabs: store
 * entities find their workloads and pods there. Clusters configured for the Kubernetes plugin
 * itself (`kubernetes.clusterLocatorMethods`) stay available to every other entity.
 *
 * @public
 */
export const kubernetesModuleStores = createBackendModule({
  pluginId: 'kubernetes',
  moduleId: 'stores',
  register(reg) {
    reg.registerInit({
      deps: {
        clusterSuppliers: kubernetesClusterSupplierExtensionPoint,
        serviceLocators: kubernetesServiceLocatorExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
      },
      async init({ clusterSuppliers, serviceLocators, config, logger }) {
        const settings = readKubernetesSettings(config);
        clusterSuppliers.addClusterSupplier(
          async ({ getDefault }) =>
            new StoreplaneClusterSupplier({
              settings,
              logger,
              // The default supplier reads this list and cannot start without it.
              others: config.has('kubernetes.clusterLocatorMethods')
                ? await getDefault()
                : undefined,
            }),
        );
        serviceLocators.addServiceLocator(
          async ({ getDefault }) =>
            new StoresServiceLocator(await getDefault()),
        );
      },
    });
  },
});
