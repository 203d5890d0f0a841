import {
  mockCredentials,
  mockServices,
  registerMswTestHooks,
} from '@backstage/backend-test-utils';
import { makeStore } from '@internal/stores-test-utils/store';
import { setupServer } from 'msw/node';
import {
  FakeStoresApi,
  fakeDiscovery,
  loggedLines,
  mockActionContext,
} from '../__testUtils__/fakeStoresApi';
import { createStoreCreateAction } from './createStoreAction';

describe('storeplane:store:create', () => {
  const server = setupServer();
  registerMswTestHooks(server);

  let api: FakeStoresApi;
  const action = createStoreCreateAction({
    discovery: fakeDiscovery(),
    auth: mockServices.auth(),
    pollIntervalMs: 5,
  });
  const input = {
    name: 'Summer Sale',
    owner: 'group:default/team-a',
    plan: 'small',
  };

  beforeEach(() => {
    api = new FakeStoresApi();
    server.use(...api.handlers());
  });

  function provisionsToReady() {
    api.timelines.set(api.nextId, [
      {
        patch: { step: 'secret' },
        events: [
          {
            type: 'guardrails.applied',
            message: 'Namespace and guardrails are in place',
          },
        ],
      },
      {
        patch: { step: 'helmInstall' },
        events: [
          { type: 'secret.created', message: 'Credentials secret created' },
          {
            type: 'retry.scheduled',
            level: 'warning',
            message: 'Helm install job is not done yet; retrying',
          },
        ],
      },
      {
        patch: {
          status: 'Ready',
          step: null,
          storefrontUrl: 'https://summer-sale.shops.example.com',
          adminUrl: 'https://summer-sale.shops.example.com/wp-admin',
        },
        events: [{ type: 'store.ready', message: 'Store is ready' }],
      },
    ]);
  }

  it('finishes with a warning when the store is already Degraded at its first look after provisioning', async () => {
    api.timelines.set(api.nextId, [
      {
        patch: {
          status: 'Degraded',
          step: null,
          lastError: 'WordPress answered HTTP 500 on /wp-login.php',
          storefrontUrl: 'https://summer-sale.shops.example.com',
          adminUrl: 'https://summer-sale.shops.example.com/wp-admin',
        },
        events: [{ type: 'degraded', message: 'Store is Degraded' }],
      },
    ]);
    const { ctx, logger } = mockActionContext(input);

    await action.handler(ctx);

    expect(ctx.output).toHaveBeenCalledWith('status', 'Degraded');
    expect(ctx.output).toHaveBeenCalledWith(
      'storefrontUrl',
      'https://summer-sale.shops.example.com',
    );
    expect(logger.warn).toHaveBeenCalledWith(
      'Store summer-sale-x1y2z was provisioned but its latest check failed: WordPress answered HTTP 500 on /wp-login.php. It turns Ready by itself once its checks pass.',
    );
  });

  it('creates the store on behalf of the user and waits until it is ready', async () => {
    provisionsToReady();
    const { ctx, logger } = mockActionContext(input);

    await action.handler(ctx);

    const posts = api.postsTo('/stores');
    expect(posts).toHaveLength(1);
    expect(posts[0].body).toEqual({
      name: 'summer-sale',
      owner: 'group:default/team-a',
      plan: 'small',
      engine: 'woocommerce',
    });
    const userToken = mockCredentials.service.token({
      onBehalfOf: mockCredentials.user(),
      targetPluginId: 'stores',
    });
    expect(
      api.requests.every(r => r.authorization === `Bearer ${userToken}`),
    ).toBe(true);

    expect(ctx.output).toHaveBeenCalledWith('storeId', 'summer-sale-x1y2z');
    expect(ctx.output).toHaveBeenCalledWith(
      'entityRef',
      'resource:default/store-summer-sale-x1y2z',
    );
    expect(ctx.output).toHaveBeenCalledWith(
      'storefrontUrl',
      'https://summer-sale.shops.example.com',
    );
    expect(ctx.output).toHaveBeenCalledWith(
      'adminUrl',
      'https://summer-sale.shops.example.com/wp-admin',
    );
    expect(ctx.output).toHaveBeenCalledWith('status', 'Ready');

    const lines = loggedLines(logger);
    // Each poll logs the new events first, then the state they led to.
    const expectedInOrder = [
      '[guardrails.applied] Namespace and guardrails are in place',
      'Store summer-sale-x1y2z is Provisioning (step: secret)',
      '[secret.created] Credentials secret created',
      '[retry.scheduled] Helm install job is not done yet; retrying',
      'Store summer-sale-x1y2z is Provisioning (step: helmInstall)',
      '[store.ready] Store is ready',
      'Store summer-sale-x1y2z is Ready',
    ];
    expect(lines.filter(l => expectedInOrder.includes(l))).toEqual(
      expectedInOrder,
    );
    expect(logger.warn).toHaveBeenCalledWith(
      '[retry.scheduled] Helm install job is not done yet; retrying',
    );
  });

  it('treats blank optional form fields as not given', async () => {
    const { ctx } = mockActionContext({
      ...input,
      plan: '',
      engine: '',
      description: '',
      waitForReady: false,
    });

    await action.handler(ctx);

    expect(api.postsTo('/stores')[0].body).toEqual({
      name: 'summer-sale',
      owner: 'group:default/team-a',
      engine: 'woocommerce',
    });
  });

  it('does not wait when waitForReady is false', async () => {
    const { ctx } = mockActionContext({ ...input, waitForReady: false });

    await action.handler(ctx);

    expect(ctx.output).toHaveBeenCalledWith('status', 'Provisioning');
    expect(ctx.output).not.toHaveBeenCalledWith(
      'storefrontUrl',
      expect.anything(),
    );
  });

  it('fails the step with the reason when the store fails', async () => {
    api.timelines.set(api.nextId, [
      {
        patch: {
          status: 'Failed',
          lastError: 'The Helm install job failed: image pull back-off',
        },
        events: [
          {
            type: 'store.failed',
            level: 'error',
            message: 'Giving up after 5 attempts',
          },
        ],
      },
    ]);
    const { ctx, logger } = mockActionContext(input);

    await expect(action.handler(ctx)).rejects.toThrow(
      'Store summer-sale-x1y2z failed: The Helm install job failed: image pull back-off',
    );
    expect(logger.error).toHaveBeenCalledWith(
      '[store.failed] Giving up after 5 attempts',
    );
    expect(ctx.output).not.toHaveBeenCalled();
  });

  it('gives up after the timeout, naming the store and its status', async () => {
    const { ctx } = mockActionContext({ ...input, timeoutMinutes: 0.0005 });

    await expect(action.handler(ctx)).rejects.toThrow(
      /Timed out after .* waiting for store summer-sale-x1y2z; it is still Provisioning \(step: guardrails\)/,
    );
  });

  it('ends at once with the reason when no cluster is configured, instead of waiting out the timeout', async () => {
    const noCluster =
      'No Kubernetes cluster is configured: there is no kubeconfig (…). The store waits, without using up attempts, until there is one. Set storeplane.kubernetes in app-config.';
    api.timelines.set(api.nextId, [
      {
        patch: { lastError: noCluster },
        events: [{ type: 'cluster.unconfigured', message: noCluster }],
      },
      { patch: { step: 'secret' } },
    ]);
    const { ctx } = mockActionContext({ ...input, timeoutMinutes: 60 });

    await expect(action.handler(ctx)).rejects.toThrow(
      `Store summer-sale-x1y2z cannot be provisioned now: ${noCluster} It stays Provisioning and continues by itself once a cluster is configured; follow it on its catalog page (resource:default/store-summer-sale-x1y2z).`,
    );
    expect(api.stores.get('summer-sale-x1y2z')?.step).toBe('guardrails');
  });

  it('keeps waiting for a store that got past a missing cluster', async () => {
    provisionsToReady();
    // By the first poll a cluster was configured: the newest event is the next gate.
    api.timelines.get(api.nextId)![0].events!.unshift({
      type: 'cluster.unconfigured',
      message: 'No Kubernetes cluster is configured: …',
    });
    const { ctx } = mockActionContext(input);

    await action.handler(ctx);

    expect(ctx.output).toHaveBeenCalledWith('status', 'Ready');
  });

  it('stops waiting when the task is cancelled and says the store keeps provisioning', async () => {
    const controller = new AbortController();
    const { ctx, logger } = mockActionContext(input, {
      signal: controller.signal,
    });
    logger.info.mockImplementation(message => {
      if (String(message).startsWith('Asked for store')) {
        setTimeout(() => controller.abort(), 20);
      }
    });

    await expect(action.handler(ctx)).rejects.toThrow(
      /Stopped waiting for store summer-sale-x1y2z because the task was cancelled. The store keeps provisioning; delete it from its catalog page \(resource:default\/store-summer-sale-x1y2z\)/,
    );
    expect(api.stores.get('summer-sale-x1y2z')?.status).toBe('Provisioning');
  });

  it('validates, checks the plan and creates nothing in a dry run', async () => {
    const { ctx, logger } = mockActionContext(input, { isDryRun: true });

    await action.handler(ctx);

    expect(api.postsTo('/stores')).toHaveLength(0);
    expect(api.requests.map(r => r.path)).toEqual(['/plans']);
    expect(logger.info).toHaveBeenCalledWith(
      'Dry run: would create store "summer-sale" owned by group:default/team-a with plan small and engine woocommerce',
    );
    expect(ctx.output).toHaveBeenCalledWith('storeId', 'summer-sale-dry-run');
    expect(ctx.output).toHaveBeenCalledWith('status', 'Ready');
  });

  it('rejects an unknown plan in a dry run', async () => {
    const { ctx } = mockActionContext(
      { ...input, plan: 'huge' },
      { isDryRun: true },
    );

    await expect(action.handler(ctx)).rejects.toThrow(
      'Plan "huge" does not exist; choose one of: small',
    );
  });

  it('does not create a second store when a recovered task replays its checkpoint', async () => {
    provisionsToReady();
    const checkpoints = new Map<string, any>();
    const checkpoint = async ({ key, fn }: { key: string; fn: () => any }) => {
      if (!checkpoints.has(key)) checkpoints.set(key, await fn());
      return checkpoints.get(key);
    };

    const first = mockActionContext(
      { ...input, waitForReady: false },
      { checkpoint },
    );
    await action.handler(first.ctx);
    expect(checkpoints.get('create-store-summer-sale')).toEqual({
      storeId: 'summer-sale-x1y2z',
    });

    const second = mockActionContext(input, { checkpoint });
    await action.handler(second.ctx);

    expect(api.postsTo('/stores')).toHaveLength(1);
    expect(second.logger.info).toHaveBeenCalledWith(
      'Store summer-sale-x1y2z was already asked for by an earlier attempt of this task; following it',
    );
    expect(second.ctx.output).toHaveBeenCalledWith('status', 'Ready');
  });

  it('never logs or outputs credentials, even if the API sent some', async () => {
    provisionsToReady();
    const entries = api.timelines.get(api.nextId)!;
    entries[entries.length - 1].patch = {
      ...entries[entries.length - 1].patch,
      adminPassword: 'hunter2-secret',
    } as any;
    const { ctx, logger } = mockActionContext(input);

    await action.handler(ctx);

    const outputs = (ctx.output as jest.Mock).mock.calls;
    expect(outputs.map(([name]) => name).sort()).toEqual([
      'adminUrl',
      'entityRef',
      'status',
      'storeId',
      'storefrontUrl',
    ]);
    expect(JSON.stringify(outputs)).not.toContain('hunter2');
    const everyLogCall = JSON.stringify([
      logger.info.mock.calls,
      logger.warn.mock.calls,
      logger.error.mock.calls,
      logger.debug.mock.calls,
    ]);
    expect(everyLogCall).not.toContain('hunter2');
    expect(everyLogCall).not.toMatch(/password/i);
  });

  it.each([
    [
      { ...input, name: 'ab' },
      'name: Store name must be 3 to 30 characters long',
    ],
    [
      { ...input, name: 'shop!' },
      /name: Store name may contain only lowercase letters/,
    ],
    [
      { ...input, owner: 'team-a' },
      /owner: owner must be a full user or group entity ref/,
    ],
  ])(
    'rejects bad input %j before calling the API',
    async (badInput, message) => {
      const { ctx } = mockActionContext(badInput);

      await expect(action.handler(ctx)).rejects.toThrow(message);
      await expect(action.handler(ctx)).rejects.toMatchObject({
        name: 'InputError',
      });
      expect(api.requests).toHaveLength(0);
    },
  );

  it('follows an existing store that is already ready', async () => {
    api.addStore(
      makeStore({
        id: 'summer-sale-x1y2z',
        status: 'Ready',
        step: null,
        storefrontUrl: 'https://s.example.com',
        adminUrl: 'https://s.example.com/wp-admin',
      }),
    );
    const { ctx } = mockActionContext(input, {
      checkpoint: async () => ({ storeId: 'summer-sale-x1y2z' } as any),
    });

    await action.handler(ctx);

    expect(ctx.output).toHaveBeenCalledWith(
      'storefrontUrl',
      'https://s.example.com',
    );
  });
});
