import {
  AuthService,
  BackstageCredentials,
  PermissionsService,
  UserInfoService,
} from '@backstage/backend-plugin-api';
import { InputError, ServiceUnavailableError } from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { storeAssignOwnerPermission } from '@storeplane/plugin-stores-common';

/**
 * Owner integrity of new stores: a user may name only themselves or one of their ownership
 * entity refs as owner, unless the permission policy lets them assign any owner (admins);
 * and the owner must exist in the catalog.
 */
export class OwnerVerifier {
  constructor(
    private readonly deps: {
      userInfo: UserInfoService;
      permissions: PermissionsService;
      catalog: CatalogService;
      auth: AuthService;
    },
  ) {}

  /** Throws InputError (400) naming the owner when it may not be used. */
  async verify(
    owner: string,
    credentials: BackstageCredentials,
  ): Promise<void> {
    if (this.deps.auth.isPrincipal(credentials, 'user')) {
      await this.verifyClaim(owner, credentials);
    }
    await this.verifyExists(owner);
  }

  private async verifyClaim(
    owner: string,
    credentials: BackstageCredentials,
  ): Promise<void> {
    const { userEntityRef, ownershipEntityRefs } =
      await this.deps.userInfo.getUserInfo(credentials);
    const claims = [
      ...new Set(
        [userEntityRef, ...ownershipEntityRefs].map(ref => ref.toLowerCase()),
      ),
    ];
    if (claims.includes(owner)) return;
    const [decision] = await this.deps.permissions.authorize(
      [{ permission: storeAssignOwnerPermission }],
      { credentials },
    );
    if (decision.result === AuthorizeResult.ALLOW) return;
    throw new InputError(
      `owner: you may create stores only for yourself or a group you belong to (${claims.join(
        ', ',
      )}); '${owner}' is none of them. Ask an administrator to create it for that owner.`,
    );
  }

  /**
   * Looked up with the stores plugin's own credentials: whether an owner exists does not
   * depend on who asks, and a catalog policy that hides a group from its own members must
   * not stop them from creating stores for it. Users only reach this for their own claims
   * (or as admins), so it tells nobody anything about other teams.
   */
  private async verifyExists(owner: string): Promise<void> {
    let entity;
    try {
      entity = await this.deps.catalog.getEntityByRef(owner, {
        credentials: await this.deps.auth.getOwnServiceCredentials(),
      });
    } catch (error) {
      throw new ServiceUnavailableError(
        `The catalog cannot be asked whether owner '${owner}' exists; try again shortly (${
          (error as Error).message
        })`,
      );
    }
    if (!entity) {
      throw new InputError(
        `owner: '${owner}' does not exist in the catalog; choose a user or group that does`,
      );
    }
  }
}
