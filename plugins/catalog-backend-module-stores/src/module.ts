import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { catalogProcessingExtensionPoint } from '@backstage/plugin-catalog-node';
import { eventsServiceRef } from '@backstage/plugin-events-node';
import { StoreEntityProvider } from './StoreEntityProvider';

/**
 * Adds the Storeplane stores entity provider to the catalog.
 *
 * @public
 */
const catalogModuleStores = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'stores',
  register(reg) {
    reg.registerInit({
      deps: {
        catalog: catalogProcessingExtensionPoint,
        config: coreServices.rootConfig,
        discovery: coreServices.discovery,
        auth: coreServices.auth,
        logger: coreServices.logger,
        scheduler: coreServices.scheduler,
        events: eventsServiceRef,
      },
      async init({ catalog, config, ...deps }) {
        catalog.addEntityProvider(StoreEntityProvider.fromConfig(config, deps));
      },
    });
  },
});

export default catalogModuleStores;
