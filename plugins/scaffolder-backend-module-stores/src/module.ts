import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { createStoreCreateAction } from './actions/createStoreAction';
import { createStoreDeleteAction } from './actions/deleteStoreAction';

/**
 * Adds the `storeplane:store:create` and `storeplane:store:delete` actions to the scaffolder.
 *
 * @public
 */
const scaffolderModuleStores = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'stores',
  register(reg) {
    reg.registerInit({
      deps: {
        scaffolderActions: scaffolderActionsExtensionPoint,
        discovery: coreServices.discovery,
        auth: coreServices.auth,
      },
      async init({ scaffolderActions, discovery, auth }) {
        scaffolderActions.addActions(
          createStoreCreateAction({ discovery, auth }),
          createStoreDeleteAction({ discovery, auth }),
        );
      },
    });
  },
});

export default scaffolderModuleStores;
