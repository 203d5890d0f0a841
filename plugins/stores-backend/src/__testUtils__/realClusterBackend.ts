import { schedulerServiceFactory } from '@backstage/backend-defaults/scheduler';
import { BackendFeature } from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import permissionPlugin from '@backstage/plugin-permission-backend';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import {
  authWithActorsServiceFactory,
  testConfigData,
} from '@internal/stores-test-utils';
import { Knex } from 'knex';
import storesPolicyModule from '@storeplane/plugin-permission-backend-module-stores-policy';
import { storesPlugin } from '../plugin';
import { STOREPLANE_NAMESPACE } from './realCluster';
import { OWNER, RealClusterSuite, USER } from './realClusterSuite';

/** USER's Authorization header; USER is a member of OWNER. */
export const USER_AUTHORIZATION = mockCredentials.user.header(USER);
/** A user who is not in OWNER (owns no store). */
export const OUTSIDER = 'user:default/olga';
export const OUTSIDER_AUTHORIZATION = mockCredentials.user.header(OUTSIDER);

const entity = (kind: 'User' | 'Group', ref: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind,
  metadata: { name: ref.split('/')[1], namespace: 'default' },
  spec: kind === 'Group' ? { type: 'team', children: [] } : {},
});

/**
 * The stores plugin as an app runs it, with `features` added (e.g. a module on its extension
 * point), on the suite's cluster as Storeplane's ServiceAccount, behind the shipped permission
 * policy, with Backstage's own scheduler running its reconciler every second. The orphan sweep
 * is off: this backend's database does not hold the other tests' stores. Stop it before the
 * test ends. With `knex`, the plugin uses that database (so a later backend can carry on
 * where this one stopped); `storeplane` replaces whole top-level blocks of its settings.
 */
export function startRealClusterBackend(
  suite: RealClusterSuite,
  features: BackendFeature[],
  options: { knex?: Knex; storeplane?: Record<string, unknown> } = {},
) {
  const userInfo = mockServices.userInfo.mock({
    getUserInfo: async credentials => {
      const ref = (credentials.principal as { userEntityRef?: string })
        .userEntityRef;
      return ref === OUTSIDER
        ? { userEntityRef: OUTSIDER, ownershipEntityRefs: [OUTSIDER] }
        : { userEntityRef: USER, ownershipEntityRefs: [USER, OWNER] };
    },
  });
  return startTestBackend({
    features: [
      storesPlugin,
      ...features,
      schedulerServiceFactory,
      mockServices.rootConfig.factory({
        data: {
          permission: { enabled: true },
          ...testConfigData({
            kubernetes: {
              source: 'kubeconfig',
              kubeconfigPath: suite.serviceAccountKubeconfig,
              requestTimeout: { seconds: 5 },
              rbac: {
                serviceAccount: {
                  namespace: STOREPLANE_NAMESPACE,
                  name: suite.rbac.serviceAccount,
                },
                storeManagerClusterRole: suite.rbac.storeManagerRole,
                storeInstallerClusterRole: suite.rbac.storeInstallerRole,
              },
            },
            healthCheck: {
              mode: 'url',
              urlTemplate: `${suite.health.url}/{namespace}`,
            },
            reconciler: {
              frequency: { seconds: 1 },
              maxAttempts: 10,
              initialBackoff: { milliseconds: 500 },
              maxBackoff: { seconds: 2 },
            },
            helm: { timeout: '3m' },
            orphanSweep: { enabled: false },
            ...options.storeplane,
          }),
        },
      }),
      authWithActorsServiceFactory,
      userInfo.factory,
      catalogServiceMock.factory({
        entities: [
          entity('User', USER),
          entity('User', OUTSIDER),
          entity('Group', OWNER),
        ],
      }),
      permissionPlugin,
      storesPolicyModule,
      ...(options.knex
        ? [mockServices.database.factory({ knex: options.knex })]
        : []),
    ],
  });
}
