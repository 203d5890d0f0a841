import { AuthService, DiscoveryService } from '@backstage/backend-plugin-api';
import { ActionContext } from '@backstage/plugin-scaffolder-node';
import { StoresClient } from '@storeplane/plugin-stores-common';

/**
 * What the store actions need from the backend, plus knobs for tests.
 *
 * @public
 */
export interface StoreActionOptions {
  discovery: DiscoveryService;
  auth: AuthService;
  /** How often a waiting action polls its store. Defaults to 5 seconds. */
  pollIntervalMs?: number;
}

export const DEFAULT_POLL_INTERVAL_MS = 5_000;
export const DEFAULT_TIMEOUT_MINUTES = 30;

/**
 * The stores API as seen by the user who runs the template: every request carries a token
 * issued on their behalf, so the stores backend applies their permissions and quotas, not
 * the scaffolder's.
 */
export async function storesApiForInitiator(
  options: StoreActionOptions,
  ctx: Pick<ActionContext<any, any>, 'getInitiatorCredentials'>,
) {
  const client = new StoresClient({ discoveryApi: options.discovery });
  const onBehalfOf = await ctx.getInitiatorCredentials();
  const getToken = async () => {
    const { token } = await options.auth.getPluginRequestToken({
      onBehalfOf,
      targetPluginId: 'stores',
    });
    return token;
  };
  return { client, getToken };
}
