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
import { apiClientsReusingConnections } from './reusedConnections';

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

/** Runs before every call that changes the cluster; throws to stop the write. */
export type WriteGuard = () => Promise<void>;

/** Most of a health check's answer Storeplane reads; the status line is what counts. */
export const HEALTH_CHECK_MAX_BODY_BYTES = 4096;

/** Attempts of one API call before its error goes to the reconciler. */
const CALL_ATTEMPTS = 3;

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** The network error code behind a failed call (ECONNREFUSED, …), if it was one. */
export function networkCode(error: unknown): string | undefined {
  let current: any = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const code = current.code ?? current.errno;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    // node-fetch (used by @kubernetes/client-node) wraps socket failures in FetchError.
    if (current.name === 'FetchError' && current.type === 'system')
      return current.code ?? 'network error';
    current = current.cause;
  }
  const message = String((error as Error)?.message ?? '');
  const match =
    /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|socket hang up)\b/.exec(
      message,
    );
  return match?.[1];
}

function isRetryableCallError(error: unknown): boolean {
  const code = statusCode(error);
  if (code !== undefined) return RETRYABLE_STATUS.has(code);
  return error instanceof KubernetesTimeoutError || !!networkCode(error);
}

function retryPause(error: unknown, attempt: number, baseMs: number): number {
  const headers = (error as { headers?: Record<string, string> })?.headers;
  const retryAfter = Number(headers?.['retry-after']);
  if (retryAfter > 0) return Math.min(retryAfter * 1000, 20 * baseMs);
  return baseMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
}

/**
 * The Kubernetes calls the reconciler makes. Every call has a timeout, so a hung API server
 * becomes a transient fault instead of a stuck lease.
 */
export class KubernetesClient {
  private readonly objects: KubernetesObjectApi;
  private readonly authorization: AuthorizationV1Api;
  private readonly beforeWrite: WriteGuard;

  constructor(
    /** The cluster and credentials; watches open their own streams with it. */
    readonly kubeConfig: KubeConfig,
    private readonly timeoutMs: number,
    private readonly options: {
      /** Base pause between attempts of one call (tests make it tiny). Default 100 ms. */
      retryPauseMs?: number;
    } = {},
    shared?: {
      objects: KubernetesObjectApi;
      authorization: AuthorizationV1Api;
      beforeWrite: WriteGuard;
    },
  ) {
    // Shared API objects keep the discovery cache of KubernetesObjectApi and the open
    // connections across claims.
    const clients = shared ?? apiClientsReusingConnections(kubeConfig);
    this.objects = clients.objects;
    this.authorization = clients.authorization;
    this.beforeWrite = shared?.beforeWrite ?? (async () => {});
  }

  /**
   * The same client, with `guard` run before every create, apply and delete: the reconciler
   * passes its lease check, so a worker that lost its store cannot change the cluster.
   */
  fenced(guard: WriteGuard): KubernetesClient {
    return new KubernetesClient(this.kubeConfig, this.timeoutMs, this.options, {
      objects: this.objects,
      authorization: this.authorization,
      beforeWrite: guard,
    });
  }

  /** Server-side apply: creates or updates the fields Storeplane owns, idempotently. */
  apply<T extends KubernetesObject>(object: T): Promise<T> {
    return this.write(() => this.serverSideApply(object));
  }

  /**
   * Server-side applies of objects that do not depend on each other, sent at once: one round
   * trip instead of one per object. The write guard runs once before they go (and again
   * before any call that is retried), as it would before a single apply. Resolves when every
   * apply has ended; when some failed, rejects with the first failure in `objects`' order, as
   * applying them one after another would have.
   */
  async applyAll(objects: KubernetesObject[]): Promise<KubernetesObject[]> {
    await this.beforeWrite();
    const results = await Promise.allSettled(
      objects.map(object =>
        this.call(() => this.serverSideApply(object), this.beforeWrite, {
          guardFirstAttempt: false,
        }),
      ),
    );
    return results.map(result => {
      if (result.status === 'rejected') throw result.reason;
      return result.value;
    });
  }

  private serverSideApply<T extends KubernetesObject>(object: T): Promise<T> {
    return this.objects.patch(
      toClientModel(object),
      undefined,
      undefined,
      FIELD_MANAGER,
      true,
      PatchStrategy.ServerSideApply,
    );
  }

  /** Creates an object; an existing one is left as it is. */
  async createIfAbsent(
    object: KubernetesObject,
  ): Promise<'created' | 'exists'> {
    try {
      await this.write(() =>
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
      return (await this.call(() =>
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

  /** Lists objects in a namespace, or cluster-wide / cluster-scoped ones without one. */
  async list<T extends KubernetesObject>(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    labelSelector?: string,
  ): Promise<T[]> {
    const result = await this.call(() =>
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

  /**
   * Lists objects of one type in all namespaces by label, with the list's resourceVersion, from
   * which a watch continues without missing a change.
   */
  async listWithVersion<T extends KubernetesObject>(
    apiVersion: string,
    kind: string,
    labelSelector: string,
  ): Promise<{ items: T[]; resourceVersion: string }> {
    const result = await this.call(() =>
      this.objects.list<T>(
        apiVersion,
        kind,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        labelSelector,
      ),
    );
    return {
      items: result.items,
      resourceVersion: result.metadata?.resourceVersion ?? '',
    };
  }

  /**
   * Deletes an object; one that is already gone counts as deleted. `Foreground` keeps the
   * object (with a deletionTimestamp) until its dependents are gone, e.g. a Job until its pods
   * have stopped.
   */
  async delete(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
    propagationPolicy: 'Background' | 'Foreground' = 'Background',
  ): Promise<'deleted' | 'absent'> {
    try {
      await this.write(() =>
        this.objects.delete(
          { apiVersion, kind, metadata: { name, namespace } },
          undefined,
          undefined,
          undefined,
          undefined,
          propagationPolicy,
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
    const review = await this.call(() =>
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

  /** The URL and the credentials of a GET of `apiPath` on the current cluster's API server. */
  private async proxyGet(
    apiPath: string,
  ): Promise<{ url: URL; options: https.RequestOptions }> {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('No Kubernetes cluster is configured');
    const url = new URL(`${cluster.server.replace(/\/$/, '')}${apiPath}`);
    const options: https.RequestOptions = { method: 'GET', headers: {} };
    await this.kubeConfig.applyToHTTPSOptions(options);
    return { url, options };
  }

  /** GET through the API server's service proxy; resolves with the HTTP status. */
  async getThroughServiceProxy(
    namespace: string,
    service: string,
    port: string,
    path: string,
    deadlineMs: number,
  ): Promise<number> {
    const { url, options } = await this.proxyGet(
      `/api/v1/namespaces/${namespace}/services/${service}:${port}/proxy${path}`,
    );
    return httpStatusOf(url, options, deadlineMs);
  }

  /**
   * GET through the API server's pod proxy; resolves with the response as soon as its headers
   * arrive, so the caller streams the body. `headersWithinMs` bounds the wait for the headers
   * only: a large body may take as long as it takes.
   */
  async openThroughPodProxy(
    namespace: string,
    pod: string,
    port: string,
    path: string,
    headersWithinMs: number,
  ): Promise<http.IncomingMessage> {
    const { url, options } = await this.proxyGet(
      `/api/v1/namespaces/${namespace}/pods/${pod}:${port}/proxy${path}`,
    );
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      let deadline: NodeJS.Timeout | undefined = undefined;
      const request = transport.request(url, options, response => {
        clearTimeout(deadline);
        resolve(response);
      });
      deadline = setTimeout(() => {
        request.destroy();
        reject(
          new KubernetesTimeoutError(
            `${url.host} did not answer within ${headersWithinMs} ms`,
          ),
        );
      }, headersWithinMs);
      request.on('error', error => {
        clearTimeout(deadline);
        reject(error);
      });
      request.end();
    });
  }

  /** A call that changes the cluster: the write guard runs before every attempt. */
  private write<T>(request: () => Promise<T>): Promise<T> {
    return this.call(request, this.beforeWrite);
  }

  /**
   * One API call with a timeout, tried up to CALL_ATTEMPTS times when the API server answers
   * 429 or 5xx, times out, or the connection fails (as client-go retries such answers), a
   * short jittered pause apart (Retry-After honoured up to 2 s). What still fails goes to the
   * reconciler, which retries the step with backoff.
   */
  private async call<T>(
    request: () => Promise<T>,
    guard: WriteGuard = async () => {},
    { guardFirstAttempt = true } = {},
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1 || guardFirstAttempt) await guard();
      try {
        return await this.withTimeout(request());
      } catch (error) {
        if (attempt >= CALL_ATTEMPTS || !isRetryableCallError(error))
          throw error;
        await new Promise(resolve =>
          setTimeout(
            resolve,
            retryPause(error, attempt, this.options.retryPauseMs ?? 100),
          ),
        );
      }
    }
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

/**
 * GETs a URL and resolves with its status once the first HEALTH_CHECK_MAX_BODY_BYTES of the
 * body (or all of a shorter one) arrived. `deadlineMs` bounds the whole exchange, not just
 * idle gaps, so a server that answers one byte a second cannot hold the caller.
 */
export function httpStatusOf(
  url: URL,
  options: https.RequestOptions,
  deadlineMs: number,
): Promise<number> {
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let settled = false;
    let deadline: NodeJS.Timeout | undefined = undefined;
    let request: http.ClientRequest | undefined = undefined;
    const finish = (error: Error | undefined, status?: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      request?.destroy();
      if (error) reject(error);
      else resolve(status!);
    };
    deadline = setTimeout(
      () =>
        finish(
          new KubernetesTimeoutError(
            `${url.host} did not answer within ${deadlineMs} ms`,
          ),
        ),
      deadlineMs,
    );
    request = transport.request(url, options, response => {
      let received = 0;
      const done = () => finish(undefined, response.statusCode ?? 0);
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= HEALTH_CHECK_MAX_BODY_BYTES) done();
      });
      response.on('end', done);
      response.on('error', error => finish(error));
    });
    request.on('error', error => finish(error));
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
