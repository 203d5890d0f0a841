import {
  mockServices,
  registerMswTestHooks,
} from '@backstage/backend-test-utils';
import { makeStore } from '@internal/stores-test-utils/store';
import { setupServer } from 'msw/node';
import {
  FakeStoresApi,
  fakeDiscovery,
  mockActionContext,
} from '../__testUtils__/fakeStoresApi';
import { createStoreDeleteAction } from './deleteStoreAction';

describe('storeplane:store:delete', () => {
  const server = setupServer();
  registerMswTestHooks(server);

  let api: FakeStoresApi;
  const action = createStoreDeleteAction({
    discovery: fakeDiscovery(),
    auth: mockServices.auth(),
    pollIntervalMs: 5,
  });
  const storeId = 'summer-sale-x1y2z';

  beforeEach(() => {
    api = new FakeStoresApi();
    server.use(...api.handlers());
    api.addStore(makeStore({ id: storeId, status: 'Ready', step: null }));
  });

  it('deletes a store by id without waiting', async () => {
    const { ctx, logger } = mockActionContext({ storeId });

    await action.handler(ctx);

    expect(api.requests.map(r => `${r.method} ${r.path}`)).toEqual([
      `DELETE /stores/${storeId}`,
    ]);
    expect(logger.info).toHaveBeenCalledWith(
      `Deletion of store ${storeId} started`,
    );
    expect(ctx.output).toHaveBeenCalledWith('storeId', storeId);
    expect(ctx.output).toHaveBeenCalledWith('status', 'Deleting');
  });

  it('resolves a short entity ref to the store and waits until it is gone', async () => {
    api.timelines.set(storeId, [
      {
        patch: { step: 'namespaceDeletion' },
        events: [
          { type: 'helm.uninstalled', message: 'Helm uninstall job succeeded' },
        ],
      },
      { gone: true },
    ]);
    const { ctx, logger } = mockActionContext({
      entityRef: `store-${storeId}`,
      waitForDeletion: true,
    });

    await action.handler(ctx);

    expect(api.requests[0].path).toBe(
      `/stores?entityRef=${encodeURIComponent(
        `resource:default/store-${storeId}`,
      )}&limit=1`,
    );
    expect(api.requests[1]).toMatchObject({
      method: 'DELETE',
      path: `/stores/${storeId}`,
    });
    expect(logger.info).toHaveBeenCalledWith(
      '[helm.uninstalled] Helm uninstall job succeeded',
    );
    expect(logger.info).toHaveBeenCalledWith(`Store ${storeId} is deleted`);
    expect(ctx.output).toHaveBeenCalledWith('status', 'Deleted');
  });

  it('treats a 404 on delete as already done', async () => {
    const { ctx, logger } = mockActionContext({ storeId: 'gone-abcde' });

    await action.handler(ctx);

    expect(logger.info).toHaveBeenCalledWith(
      'Store gone-abcde is already gone, nothing to delete',
    );
    expect(ctx.output).toHaveBeenCalledWith('status', 'Deleted');
  });

  it('treats an entity ref without a store as already done', async () => {
    const { ctx, logger } = mockActionContext({
      entityRef: 'resource:default/store-gone-abcde',
    });

    await action.handler(ctx);

    expect(api.requests.some(r => r.method === 'DELETE')).toBe(false);
    expect(logger.info).toHaveBeenCalledWith(
      'No store belongs to resource:default/store-gone-abcde; it is already gone, nothing to delete',
    );
    expect(ctx.output).toHaveBeenCalledWith('status', 'Deleted');
  });

  it('times out when the store lingers', async () => {
    const { ctx } = mockActionContext({
      storeId,
      waitForDeletion: true,
      timeoutMinutes: 0.0005,
    });

    await expect(action.handler(ctx)).rejects.toThrow(
      `Timed out after 0.03 seconds waiting for store ${storeId}; it is still Deleting (step: helmUninstall). It keeps deleting in the background`,
    );
  });

  it('ends at once with the reason when the deletion waits for a cluster', async () => {
    const noCluster = 'No Kubernetes cluster is configured: … .';
    api.timelines.set(storeId, [
      { events: [{ type: 'cluster.unconfigured', message: noCluster }] },
    ]);
    const { ctx } = mockActionContext({
      storeId,
      waitForDeletion: true,
      timeoutMinutes: 60,
    });

    await expect(action.handler(ctx)).rejects.toThrow(
      `Store ${storeId} cannot be deleted now: ${noCluster} It stays Deleting and continues by itself once a cluster is configured`,
    );
  });

  it('deletes nothing in a dry run', async () => {
    const { ctx } = mockActionContext({ storeId }, { isDryRun: true });

    await action.handler(ctx);

    expect(api.requests).toHaveLength(0);
    expect(api.stores.get(storeId)?.status).toBe('Ready');
  });

  it.each([
    [{}],
    [{ storeId, entityRef: `resource:default/store-${storeId}` }],
  ])('needs exactly one of storeId and entityRef (%j)', async input => {
    const { ctx } = mockActionContext(input);
    await expect(action.handler(ctx)).rejects.toThrow(
      'Give either storeId or entityRef of the store to delete, not both',
    );
  });
});
