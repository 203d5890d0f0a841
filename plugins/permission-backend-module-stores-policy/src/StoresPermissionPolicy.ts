import { UserInfoService } from '@backstage/backend-plugin-api';
import {
  AuthorizeResult,
  PolicyDecision,
} from '@backstage/plugin-permission-common';
import {
  PermissionPolicy,
  PolicyQuery,
  PolicyQueryUser,
} from '@backstage/plugin-permission-node';
import {
  decideStorePermission,
  StorePolicyOptions,
} from './decideStorePermission';

/**
 * The policy the Storeplane app ships: {@link decideStorePermission} for Storeplane's
 * permissions, and allow for every other plugin's (catalog, scaffolder, kubernetes, search,
 * …), as Backstage's allow-all policy did. An app that restricts those too writes its own
 * policy and calls `decideStorePermission` from it.
 */
export class StoresPermissionPolicy implements PermissionPolicy {
  constructor(
    private readonly options: StorePolicyOptions & {
      userInfo: UserInfoService;
    },
  ) {}

  async handle(
    request: PolicyQuery,
    user?: PolicyQueryUser,
  ): Promise<PolicyDecision> {
    const caller = user
      ? await this.options.userInfo.getUserInfo(user.credentials)
      : undefined;
    return (
      decideStorePermission(request, caller, this.options) ?? {
        result: AuthorizeResult.ALLOW,
      }
    );
  }
}
