import {
  AuthorizationV1Api,
  Configuration,
  createConfiguration,
  KubeConfig,
  KubernetesObjectApi,
  RequestContext,
  SecurityAuthentication,
  ServerConfiguration,
  V1APIResource,
} from '@kubernetes/client-node';
import http from 'node:http';
import https from 'node:https';

/**
 * The kubeconfig's authentication with one keep-alive agent for all requests. client-node's
 * `KubeConfig` builds a new agent for every request, so each API call paid a TCP connect and a
 * TLS handshake (client certificate included): most of Storeplane's CPU per store against a
 * real API server. Headers (tokens, refreshed by the kubeconfig) are still applied per request;
 * the agent is rebuilt only when its TLS material changes (a rotated client certificate).
 * Proxy agents are left as client-node makes them.
 */
class ReusedConnections implements SecurityAuthentication {
  private agent: http.Agent | undefined;
  private agentKey = '';

  constructor(private readonly kubeConfig: KubeConfig) {}

  getName(): string {
    return 'kubeconfig';
  }

  async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await this.kubeConfig.applySecurityAuthentication(context);
    const fresh = context.getAgent();
    if (
      !fresh ||
      (fresh.constructor !== https.Agent && fresh.constructor !== http.Agent)
    )
      return;
    const options = (fresh as https.Agent).options;
    const key = [
      fresh.constructor.name,
      options.ca,
      options.cert,
      options.key,
      options.pfx,
      options.rejectUnauthorized,
      options.servername,
    ]
      .map(String)
      .join('\0');
    if (!this.agent || key !== this.agentKey) {
      this.agent?.destroy();
      this.agentKey = key;
      this.agent =
        fresh.constructor === https.Agent
          ? new https.Agent({ ...options, keepAlive: true })
          : new http.Agent({ ...options, keepAlive: true });
    }
    context.setAgent(this.agent);
  }
}

/**
 * What `KubernetesObjectApi.makeApiClient` builds, on a given configuration, except that calls
 * sent at once for a kind not yet discovered share one discovery request: client-node caches
 * the answer but not the request, so six NetworkPolicies applied at once by each of 16 workers
 * asked the API server for the same resource list up to 96 times.
 */
class ObjectApi extends KubernetesObjectApi {
  private readonly discovering = new Map<
    string,
    Promise<V1APIResource | undefined>
  >();

  constructor(
    configuration: ConstructorParameters<typeof KubernetesObjectApi>[0],
    kubeConfig: KubeConfig,
  ) {
    super(configuration);
    this.setDefaultNamespace(kubeConfig);
  }

  protected override resource(
    apiVersion: string,
    kind: string,
    options?: Configuration,
  ): Promise<V1APIResource | undefined> {
    const key = `${apiVersion} ${kind}`;
    const pending = this.discovering.get(key);
    if (pending) return pending;
    const lookup = super
      .resource(apiVersion, kind, options)
      .finally(() => this.discovering.delete(key));
    this.discovering.set(key, lookup);
    return lookup;
  }
}

/** client-node's API objects for `kubeConfig`, sharing one set of reused connections. */
export function apiClientsReusingConnections(kubeConfig: KubeConfig): {
  objects: KubernetesObjectApi;
  authorization: AuthorizationV1Api;
} {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('No active cluster!');
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: new ReusedConnections(kubeConfig) },
  });
  return {
    objects: new ObjectApi(configuration, kubeConfig),
    authorization: new AuthorizationV1Api(configuration),
  };
}
