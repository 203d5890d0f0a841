import {
  AuthorizationV1Api,
  KubeConfig,
  KubernetesObject,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
} from '@kubernetes/client-node';
import https from 'node:https';
import http from 'node:http';

export const FIELD_MANAGER = 'storeplane';

/** An API call took longer than the configured request timeout. */
export class KubernetesTimeoutError extends Error {
  readonly name = 'KubernetesTimeoutError';
}

/**
 * client-node sends objects of the kinds it knows through its typed models, whose field names
 * differ from the API's where the API uses a reserved word (a NetworkPolicy rule's `from` is
 * `_from`, a LimitRange's `default` is `_default`), so a manifest written as the API expects
 * would silently lose those fields. loadYaml turns API-shaped JSON (which is YAML) into the
 * typed model, which the client then sends unchanged.
 */
function toClientModel<T extends KubernetesObject>(object: T): T {
  return loadYaml<T>(JSON.stringify(object));
}

/**
 * The Kubernetes calls the reconciler makes. Every call has a timeout, so a hung API server
 * becomes a transient fault instead of a stuck lease.
 */
export class KubernetesClient {
  private readonly objects: KubernetesObjectApi;
  private readonly authorization: AuthorizationV1Api;

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly timeoutMs: number,
  ) {
    this.objects = KubernetesObjectApi.makeApiClient(kubeConfig);
    this.authorization = kubeConfig.makeApiClient(AuthorizationV1Api);
  }

  /** Server-side apply: creates or updates the fields Storeplane owns, idempotently. */
  apply<T extends KubernetesObject>(object: T): Promise<T> {
    return this.withTimeout(
      this.objects.patch(
        toClientModel(object),
        undefined,
        undefined,
        FIELD_MANAGER,
        true,
        PatchStrategy.ServerSideApply,
      ),
    );
  }

  /** Creates an object; an existing one is left as it is. */
  async createIfAbsent(
    object: KubernetesObject,
  ): Promise<'created' | 'exists'> {
    try {
      await this.withTimeout(
        this.objects.create(
          toClientModel(object),
          undefined,
          undefined,
          FIELD_MANAGER,
        ),
      );
      return 'created';
    } catch (error) {
      if (statusCode(error) === 409) return 'exists';
      throw error;
    }
  }

  async read<T extends KubernetesObject>(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    try {
      return (await this.withTimeout(
        this.objects.read({
          apiVersion,
          kind,
          metadata: { name, namespace },
        } as any),
      )) as T;
    } catch (error) {
      if (statusCode(error) === 404) return undefined;
      throw error;
    }
  }

  async list<T extends KubernetesObject>(
    apiVersion: string,
    kind: string,
    namespace: string,
    labelSelector?: string,
  ): Promise<T[]> {
    const result = await this.withTimeout(
      this.objects.list<T>(
        apiVersion,
        kind,
        namespace,
        undefined,
        undefined,
        undefined,
        undefined,
        labelSelector,
      ),
    );
    // Items of a Kubernetes list carry no apiVersion/kind; callers name objects by kind.
    return result.items.map(item => ({ ...item, apiVersion, kind }));
  }

  /** Deletes an object; one that is already gone counts as deleted. */
  async delete(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
  ): Promise<'deleted' | 'absent'> {
    try {
      await this.withTimeout(
        this.objects.delete(
          { apiVersion, kind, metadata: { name, namespace } },
          undefined,
          undefined,
          undefined,
          undefined,
          'Background',
        ),
      );
      return 'deleted';
    } catch (error) {
      if (statusCode(error) === 404) return 'absent';
      throw error;
    }
  }

  /** Asks the API server whether Storeplane's own identity may do something. */
  async canI(
    namespace: string,
    verb: string,
    group: string,
    resource: string,
  ): Promise<boolean> {
    const review = await this.withTimeout(
      this.authorization.createSelfSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { namespace, verb, group, resource } },
        },
      }),
    );
    return review.status?.allowed === true;
  }

  /** GET through the API server's service proxy; resolves with the HTTP status. */
  async getThroughServiceProxy(
    namespace: string,
    service: string,
    port: string,
    path: string,
  ): Promise<number> {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('No Kubernetes cluster is configured');
    const url = new URL(
      `${cluster.server.replace(
        /\/$/,
        '',
      )}/api/v1/namespaces/${namespace}/services/${service}:${port}/proxy${path}`,
    );
    const options: https.RequestOptions = { method: 'GET', headers: {} };
    await this.kubeConfig.applyToHTTPSOptions(options);
    return httpStatusOf(url, options, this.timeoutMs);
  }

  private withTimeout<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new KubernetesTimeoutError(
              `Kubernetes API did not answer within ${this.timeoutMs} ms`,
            ),
          ),
        this.timeoutMs,
      );
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}

/** GETs a URL and resolves with its status code, draining the body. */
export function httpStatusOf(
  url: URL,
  options: https.RequestOptions,
  timeoutMs: number,
): Promise<number> {
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(
      url,
      { ...options, timeout: timeoutMs },
      response => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    request.on('timeout', () =>
      request.destroy(
        new KubernetesTimeoutError(
          `${url.host} did not answer within ${timeoutMs} ms`,
        ),
      ),
    );
    request.on('error', reject);
    request.end();
  });
}

/** HTTP status of a failed Kubernetes call, if it was one. */
export function statusCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The API server's own message (Status.message) of a failed call. */
export function apiMessage(error: unknown): string | undefined {
  const body = (error as { body?: unknown })?.body;
  if (!body) return undefined;
  try {
    const parsed = typeof body === 'string' ? JSON.parse(body) : body;
    return typeof parsed?.message === 'string' ? parsed.message : undefined;
  } catch {
    return typeof body === 'string' ? body.slice(0, 500) : undefined;
  }
}
