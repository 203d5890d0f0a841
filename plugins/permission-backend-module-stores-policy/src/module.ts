import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { policyExtensionPoint } from '@backstage/plugin-permission-node/alpha';
import { readStoreAdmins } from './readStoreAdmins';
import { StoresPermissionPolicy } from './StoresPermissionPolicy';

/**
 * Installs {@link StoresPermissionPolicy} as the permission backend's policy, with the
 * administrators from `storeplane.permissions.admins`.
 *
 * @public
 */
export const permissionModuleStoresPolicy = createBackendModule({
  pluginId: 'permission',
  moduleId: 'stores-policy',
  register(reg) {
    reg.registerInit({
      deps: {
        policy: policyExtensionPoint,
        config: coreServices.rootConfig,
        userInfo: coreServices.userInfo,
        logger: coreServices.logger,
      },
      async init({ policy, config, userInfo, logger }) {
        const admins = readStoreAdmins(config);
        policy.setPolicy(new StoresPermissionPolicy({ admins, userInfo }));
        logger.info(
          `Storeplane permission policy: owners and ${
            admins.length ? admins.join(', ') : 'no administrators'
          } may change stores`,
        );
      },
    });
  },
});
