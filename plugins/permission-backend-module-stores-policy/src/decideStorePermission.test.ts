import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  rolloutCreatePermission,
  rolloutManagePermission,
  rolloutReadPermission,
  storeAssignOwnerPermission,
  storeBackupPermission,
  storeCreatePermission,
  storeCredentialsReadPermission,
  storeDeletePermission,
  storeReadPermission,
  storeRestorePermission,
  storeRetryPermission,
  storeUpdatePermission,
} from '@storeplane/plugin-stores-common';
import { decideStorePermission } from './decideStorePermission';

const ann = {
  userEntityRef: 'user:default/ann',
  ownershipEntityRefs: ['user:default/ann', 'group:default/Team-A'],
};
const admin = {
  userEntityRef: 'user:default/ada',
  ownershipEntityRefs: ['user:default/ada', 'group:default/platform-admins'],
};
const options = { admins: ['group:default/platform-admins'] };

describe('decideStorePermission', () => {
  it('leaves other plugins’ permissions to the caller', () => {
    expect(
      decideStorePermission(
        {
          permission: {
            type: 'basic',
            name: 'catalog.entity.create',
            attributes: { action: 'create' },
          },
        },
        ann,
        options,
      ),
    ).toBeUndefined();
  });

  it.each([storeCreatePermission, storeReadPermission])(
    'allows every signed-in user %s',
    permission => {
      expect(decideStorePermission({ permission }, ann, options)).toEqual({
        result: AuthorizeResult.ALLOW,
      });
    },
  );

  it.each([
    storeDeletePermission,
    storeRetryPermission,
    storeUpdatePermission,
    storeCredentialsReadPermission,
    storeBackupPermission,
    storeRestorePermission,
  ])('allows %s only on stores the caller or their groups own', permission => {
    expect(decideStorePermission({ permission }, ann, options)).toEqual({
      result: AuthorizeResult.CONDITIONAL,
      pluginId: 'stores',
      resourceType: 'storeplane-store',
      conditions: {
        rule: 'IS_STORE_OWNER',
        resourceType: 'storeplane-store',
        params: { claims: ['user:default/ann', 'group:default/team-a'] },
      },
    });
  });

  it('treats a store permission added later like the owner-only ones', () => {
    const future = {
      type: 'resource' as const,
      name: 'storeplane.store.rename',
      attributes: { action: 'update' as const },
      resourceType: 'storeplane-store',
    };
    expect(
      decideStorePermission({ permission: future }, ann, options)?.result,
    ).toBe(AuthorizeResult.CONDITIONAL);
  });

  it('denies assigning another owner to users and allows it to admins', () => {
    const query = { permission: storeAssignOwnerPermission };
    expect(decideStorePermission(query, ann, options)).toEqual({
      result: AuthorizeResult.DENY,
    });
    expect(decideStorePermission(query, admin, options)).toEqual({
      result: AuthorizeResult.ALLOW,
    });
  });

  it.each([
    rolloutCreatePermission,
    rolloutReadPermission,
    rolloutManagePermission,
  ])('keeps fleet rollouts to admins: $name', permission => {
    expect(decideStorePermission({ permission }, ann, options)).toEqual({
      result: AuthorizeResult.DENY,
    });
    expect(decideStorePermission({ permission }, admin, options)).toEqual({
      result: AuthorizeResult.ALLOW,
    });
  });

  it('allows admins everything on every store, matching refs case-insensitively', () => {
    for (const permission of [
      storeDeletePermission,
      storeRetryPermission,
      storeCredentialsReadPermission,
      storeBackupPermission,
    ]) {
      expect(
        decideStorePermission({ permission }, admin, {
          admins: ['Group:default/Platform-Admins'],
        }),
      ).toEqual({ result: AuthorizeResult.ALLOW });
    }
    // A user listed by their own ref is an admin too.
    expect(
      decideStorePermission({ permission: storeDeletePermission }, ann, {
        admins: ['user:default/ann'],
      }),
    ).toEqual({ result: AuthorizeResult.ALLOW });
  });

  it('denies every Storeplane permission to callers that are not signed-in users', () => {
    for (const permission of [storeReadPermission, storeCreatePermission]) {
      expect(decideStorePermission({ permission }, undefined, options)).toEqual(
        { result: AuthorizeResult.DENY },
      );
    }
  });
});
