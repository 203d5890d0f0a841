/**
 * Owner integrity and clean strings through the scaffolder action, against the real stores
 * backend (with the shipped permission policy) on SQLite and PostgreSQL: the action acts with
 * the user's token, so the same rules hold as for the REST API.
 */
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { ResponseError } from '@backstage/errors';
import permissionPlugin from '@backstage/plugin-permission-backend';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import storesPolicyModule from '@storeplane/plugin-permission-backend-module-stores-policy';
// eslint-disable-next-line @backstage/no-mixed-plugin-imports -- the action runs against the real stores backend
import storesPlugin from '@storeplane/plugin-stores-backend';
// eslint-disable-next-line @backstage/no-mixed-plugin-imports -- its test helpers
import {
  authWithActorsServiceFactory,
  storeTestDatabases,
  testConfigData,
} from '@internal/stores-test-utils';
import { createStoreCreateAction } from './createStoreAction';

const databases = storeTestDatabases();

const ANN = 'user:default/ann';
const entity = (kind: 'User' | 'Group', name: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind,
  metadata: { name, namespace: 'default' },
  spec: {},
});

describe.each(databases.eachSupportedId())(
  'storeplane:store:create against the stores backend on %s',
  databaseId => {
    let action: ReturnType<typeof createStoreCreateAction>;
    let countStores: () => Promise<number>;

    beforeAll(async () => {
      const knex = await databases.init(databaseId);
      const backend = await startTestBackend({
        features: [
          storesPlugin,
          permissionPlugin,
          storesPolicyModule,
          authWithActorsServiceFactory,
          mockServices.database.factory({ knex }),
          mockServices.userInfo.mock({
            getUserInfo: async () => ({
              userEntityRef: ANN,
              ownershipEntityRefs: [ANN, 'group:default/team-a'],
            }),
          }).factory,
          catalogServiceMock.factory({
            entities: [
              entity('User', 'ann'),
              entity('Group', 'team-a'),
              entity('Group', 'team-b'),
            ],
          }),
          mockServices.rootConfig.factory({
            data: {
              permission: { enabled: true },
              ...testConfigData({ reconciler: { frequency: { hours: 1 } } }),
            },
          }),
        ],
      });
      const baseUrl = `http://localhost:${backend.server.port()}/api`;
      action = createStoreCreateAction({
        discovery: {
          getBaseUrl: async pluginId => `${baseUrl}/${pluginId}`,
          getExternalBaseUrl: async pluginId => `${baseUrl}/${pluginId}`,
        },
        auth: mockServices.auth({ pluginId: 'scaffolder' }),
      });
      countStores = async () =>
        Number((await knex('stores').count({ n: '*' }))[0].n);
    });

    const run = (input: Record<string, unknown>) =>
      action.handler(
        createMockActionContext({
          input: { plan: 'small', waitForReady: false, ...input },
          getInitiatorCredentials: async () => mockCredentials.user(ANN),
        }) as any,
      );

    it.each([
      [
        'a spoofed owner',
        { owner: 'group:default/team-b' },
        /you may create stores only for yourself or a group you belong to/,
      ],
      [
        'an owner that exists nowhere',
        { owner: 'group:default/no-such-team' },
        /you may create stores only for yourself or a group you belong to/,
      ],
    ])('refuses %s with the backend’s 400', async (_, input, message) => {
      const before = await countStores();
      const error = await run({ name: 'shop', ...input }).catch(e => e);
      expect(error).toBeInstanceOf(ResponseError);
      expect(error.statusCode).toBe(400);
      expect(error.body.error.message).toMatch(message);
      expect(await countStores()).toBe(before);
    });

    it.each([
      [
        'an owner of 300 characters',
        { owner: `group:default/${'a'.repeat(286)}` },
        /owner: owner must be at most 140 characters long/,
      ],
      [
        'a NUL byte in the description',
        {
          owner: 'group:default/team-a',
          description: `sale${String.fromCharCode(0)}`,
        },
        /description: description must not contain control characters/,
      ],
    ])(
      'refuses %s with the same rules before calling the backend',
      async (_, input, message) => {
        const before = await countStores();
        const error = await run({ name: 'shop', ...input }).catch(e => e);
        expect(error.name).toBe('InputError');
        expect(error.message).toMatch(message);
        expect(await countStores()).toBe(before);
      },
    );

    it('creates a store for one of the user’s groups', async () => {
      const ctx = createMockActionContext({
        input: {
          name: 'team-shop',
          owner: 'group:default/team-a',
          plan: 'small',
          waitForReady: false,
        },
        getInitiatorCredentials: async () => mockCredentials.user(ANN),
      });
      await action.handler(ctx as any);
      expect(ctx.output).toHaveBeenCalledWith('status', 'Provisioning');
    });
  },
);
