import { PermissionsService } from '@backstage/backend-plugin-api';
import { mockCredentials } from '@backstage/backend-test-utils';
import {
  AuthorizePermissionResponse,
  AuthorizeResult,
} from '@backstage/plugin-permission-common';
import {
  storeCreatePermission,
  storeDeletePermission,
  storeReadPermission,
} from '@storeplane/plugin-stores-common';
import { CachedPermissions } from './cachedPermissions';

const alice = mockCredentials.user('user:default/alice');
const bob = mockCredentials.user('user:default/bob');
const ownerCondition = {
  result: AuthorizeResult.CONDITIONAL,
  pluginId: 'stores',
  resourceType: 'storeplane-store',
  conditions: {
    rule: 'IS_STORE_OWNER',
    resourceType: 'storeplane-store',
    params: { claims: ['user:default/alice'] },
  },
} as const;

function setUp(ttlMs = 5_000, maxEntries?: number) {
  let now = 1_000_000;
  const inner = {
    authorize: jest.fn(
      async (requests: unknown[]): Promise<AuthorizePermissionResponse[]> =>
        requests.map(() => ({ result: AuthorizeResult.ALLOW })),
    ),
    authorizeConditional: jest.fn(async (requests: unknown[]) =>
      requests.map(() => ownerCondition),
    ),
  };
  const cached = new CachedPermissions(inner as unknown as PermissionsService, {
    ttlMs,
    maxEntries,
    now: () => now,
  });
  return {
    inner,
    cached,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const readStore = (resourceRef: string) => [
  { permission: storeReadPermission, resourceRef },
];

describe('CachedPermissions', () => {
  it('answers the same user, permission and store from the cache within the TTL', async () => {
    const { inner, cached, advance } = setUp();
    const first = await cached.authorize(readStore('s1'), {
      credentials: alice,
    });
    advance(4_999);
    const second = await cached.authorize(readStore('s1'), {
      credentials: alice,
    });
    expect(second).toEqual([{ result: AuthorizeResult.ALLOW }]);
    expect(second).toEqual(first);
    expect(inner.authorize).toHaveBeenCalledTimes(1);
  });

  it('asks again once the TTL has passed', async () => {
    const { inner, cached, advance } = setUp();
    await cached.authorize(readStore('s1'), { credentials: alice });
    advance(5_000);
    await cached.authorize(readStore('s1'), { credentials: alice });
    expect(inner.authorize).toHaveBeenCalledTimes(2);
  });

  it('keeps users, permissions, stores and methods apart', async () => {
    const { inner, cached } = setUp();
    await cached.authorize(readStore('s1'), { credentials: alice });
    await cached.authorize(readStore('s1'), { credentials: bob });
    await cached.authorize(readStore('s2'), { credentials: alice });
    await cached.authorize(
      [{ permission: storeDeletePermission, resourceRef: 's1' }],
      { credentials: alice },
    );
    await cached.authorize([{ permission: storeCreatePermission }], {
      credentials: alice,
    });
    expect(inner.authorize).toHaveBeenCalledTimes(5);
    const conditional = await cached.authorizeConditional(
      [{ permission: storeReadPermission }],
      { credentials: alice },
    );
    expect(conditional).toEqual([ownerCondition]);
    expect(inner.authorizeConditional).toHaveBeenCalledTimes(1);
  });

  it('remembers conditional decisions with their conditions, per user', async () => {
    const { inner, cached } = setUp();
    const list = [{ permission: storeReadPermission }];
    await cached.authorizeConditional(list, { credentials: alice });
    const again = await cached.authorizeConditional(list, {
      credentials: alice,
    });
    expect(again).toEqual([ownerCondition]);
    expect(inner.authorizeConditional).toHaveBeenCalledTimes(1);
    await cached.authorizeConditional(list, { credentials: bob });
    expect(inner.authorizeConditional).toHaveBeenCalledTimes(2);
  });

  it('remembers a denial too', async () => {
    const { inner, cached } = setUp();
    inner.authorize.mockResolvedValueOnce([{ result: AuthorizeResult.DENY }]);
    await cached.authorize(readStore('s1'), { credentials: bob });
    const again = await cached.authorize(readStore('s1'), {
      credentials: bob,
    });
    expect(again).toEqual([{ result: AuthorizeResult.DENY }]);
    expect(inner.authorize).toHaveBeenCalledTimes(1);
  });

  it('does not remember a failure', async () => {
    const { inner, cached } = setUp();
    inner.authorize.mockRejectedValueOnce(new Error('permission backend down'));
    await expect(
      cached.authorize(readStore('s1'), { credentials: alice }),
    ).rejects.toThrow('permission backend down');
    const retried = await cached.authorize(readStore('s1'), {
      credentials: alice,
    });
    expect(retried).toEqual([{ result: AuthorizeResult.ALLOW }]);
    expect(inner.authorize).toHaveBeenCalledTimes(2);
  });

  it('asks only for what it does not hold, in the order asked', async () => {
    const { inner, cached } = setUp();
    inner.authorize.mockResolvedValueOnce([{ result: AuthorizeResult.DENY }]);
    await cached.authorize(readStore('s2'), { credentials: alice });
    const answers = await cached.authorize(
      [...readStore('s1'), ...readStore('s2'), ...readStore('s3')],
      { credentials: alice },
    );
    expect(inner.authorize).toHaveBeenLastCalledWith(
      [...readStore('s1'), ...readStore('s3')],
      { credentials: alice },
    );
    expect(answers.map(a => a.result)).toEqual([
      AuthorizeResult.ALLOW,
      AuthorizeResult.DENY,
      AuthorizeResult.ALLOW,
    ]);
  });

  it('passes every call through with a TTL of 0', async () => {
    const { inner, cached } = setUp(0);
    await cached.authorize(readStore('s1'), { credentials: alice });
    await cached.authorize(readStore('s1'), { credentials: alice });
    expect(inner.authorize).toHaveBeenCalledTimes(2);
    expect(cached.size).toBe(0);
  });

  it('passes service principals through', async () => {
    const { inner, cached } = setUp();
    const service = mockCredentials.service('plugin:catalog');
    await cached.authorize(readStore('s1'), { credentials: service });
    await cached.authorize(readStore('s1'), { credentials: service });
    expect(inner.authorize).toHaveBeenCalledTimes(2);
  });

  it('holds at most maxEntries decisions, dropping the oldest and the expired', async () => {
    const { inner, cached, advance } = setUp(5_000, 3);
    for (const id of ['s1', 's2', 's3', 's4'])
      await cached.authorize(readStore(id), { credentials: alice });
    expect(cached.size).toBe(3);
    await cached.authorize(readStore('s1'), { credentials: alice });
    expect(inner.authorize).toHaveBeenCalledTimes(5);
    advance(5_000);
    await cached.authorize(readStore('s5'), { credentials: alice });
    expect(cached.size).toBe(1);
  });
});
