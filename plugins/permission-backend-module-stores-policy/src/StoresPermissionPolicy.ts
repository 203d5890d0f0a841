import { UserInfoService } from '@backstage/backend-plugin-api';
import { kubernetesProxyPermission } from '@backstage/plugin-kubernetes-common';
import {
  AuthorizeResult,
  isPermission,
  PolicyDecision,
} from '@backstage/plugin-permission-common';
import {
  PermissionPolicy,
  PolicyQuery,
  PolicyQueryUser,
} from '@backstage/plugin-permission-node';
import {
  decideStorePermission,
  isStoreAdministrator,
  StorePolicyOptions,
} from './decideStorePermission';

/**
 * The policy the Storeplane app ships: {@link decideStorePermission} for Storeplane's
 * permissions; the Kubernetes plugin's proxy (`kubernetes.proxy`) only for administrators,
 * because on the stores' cluster it acts with Storeplane's own identity; allow for every
 * other plugin's permissions (catalog, scaffolder, the Kubernetes tab's reads, search, …), as
 * Backstage's allow-all policy did. An app that restricts those too writes its own policy and
 * calls `decideStorePermission` from it.
 *
 * @public
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
    const storeDecision = decideStorePermission(request, caller, this.options);
    if (storeDecision) return storeDecision;
    if (isPermission(request.permission, kubernetesProxyPermission)) {
      return {
        result:
          caller && isStoreAdministrator(caller, this.options)
            ? AuthorizeResult.ALLOW
            : AuthorizeResult.DENY,
      };
    }
    return { result: AuthorizeResult.ALLOW };
  }
}
