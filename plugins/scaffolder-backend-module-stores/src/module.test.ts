import { startTestBackend } from '@backstage/backend-test-utils';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import scaffolderModuleStores from './module';

describe('scaffolderModuleStores', () => {
  it('registers the store actions', async () => {
    const addActions = jest.fn();

    await startTestBackend({
      extensionPoints: [[scaffolderActionsExtensionPoint, { addActions }]],
      features: [scaffolderModuleStores],
    });

    const ids = addActions.mock.calls.flat().map(action => action.id);
    expect(ids).toEqual(['storeplane:store:create', 'storeplane:store:delete']);
  });
});
