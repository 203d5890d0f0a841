import { LoggerService } from '@backstage/backend-plugin-api';
import { KubernetesObject, Watch } from '@kubernetes/client-node';
import { KubernetesClient, statusCode } from './KubernetesClient';

/** One object type that stores wait for, and which of its changes matter to a waiting store. */
export interface WatchedResource {
  /** Plural, as in RBAC and the API path: `jobs`, `deployments`, … */
  resource: string;
  apiVersion: string;
  kind: string;
  /** The state a waiting store looks at (`finished`, `available`, …), in a few characters. */
  stateOf(object: KubernetesObject): string;
  /** Whether going from `before` to `after` (undefined: no such object) is worth a look. */
  wakes(before: string | undefined, after: string | undefined): boolean;
}

export interface ResourceWatchOptions {
  watched: WatchedResource;
  /** Which objects to watch (they must carry `storeLabel`). */
  labelSelector: string;
  /** The label whose value is the store id. */
  storeLabel: string;
  kubernetes: () => KubernetesClient;
  logger: LoggerService;
  onStoreChanged(storeId: string): void;
  /** The API server ends each watch request after this long; it resumes from its resourceVersion. */
  timeoutSeconds?: number;
}

const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;
/** RBAC or a missing cluster do not change in a second: look again this rarely. */
const REFUSED_RETRY_MS = 60_000;
/** A watch the server ends sooner than this was not held: retried with backoff, not at once. */
const SHORTEST_WATCH_MS = 1_000;

/**
 * A cluster-wide list + watch of one object type, selected by Storeplane's store-id label, that
 * keeps only each object's small state (not the object) and reports a store whose object
 * changed in a way that store may be waiting for. Like client-go's reflector: it lists once,
 * then watches from the list's resourceVersion with bookmarks, resumes from the last
 * resourceVersion after a dropped connection, and lists again on 410 Gone, comparing the new
 * list with the states it kept, so a change made while no watch was open is still reported.
 * `isHeld()` is false from a failure until the watch is open again: waiting stores then poll.
 */
export class ResourceWatch {
  private readonly states = new Map<
    string,
    { storeId: string; state: string }
  >();
  private resourceVersion = '';
  private listedOnce = false;
  private held = false;
  private running = false;
  /** Counts watch requests, so a late callback of an ended request changes nothing. */
  private attempt = 0;
  private request: AbortController | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private lastFailure = '';
  private openedAt = 0;

  constructor(private readonly options: ResourceWatchOptions) {}

  get resource(): string {
    return this.options.watched.resource;
  }

  /** True while a watch is open: changes reach the store within moments. */
  isHeld(): boolean {
    return this.held;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.connect();
  }

  stop(): void {
    this.running = false;
    this.held = false;
    this.attempt++;
    clearTimeout(this.retryTimer);
    this.request?.abort();
    this.request = undefined;
  }

  private async connect(): Promise<void> {
    if (!this.running) return;
    const attempt = ++this.attempt;
    try {
      const client = this.options.kubernetes();
      if (!this.resourceVersion) await this.relist(client);
      if (attempt !== this.attempt) return;
      const { watched, labelSelector, timeoutSeconds = 300 } = this.options;
      let ended = false;
      const request = await new Watch(client.kubeConfig).watch(
        watchPath(watched.apiVersion, watched.resource),
        {
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          labelSelector,
          timeoutSeconds,
        },
        (type: string, object: any) => {
          if (attempt === this.attempt) this.onEvent(type, object);
        },
        (error: unknown) => {
          ended = true;
          if (attempt === this.attempt) this.onEnd(error);
        },
      );
      if (attempt !== this.attempt || ended) {
        if (attempt !== this.attempt) request.abort();
        return;
      }
      this.request = request;
      this.openedAt = performance.now();
      if (!this.held && this.failures > 0)
        this.options.logger.info(
          `Watching ${watched.resource} again; waiting stores are woken by their changes`,
        );
      this.held = true;
      this.failures = 0;
      this.lastFailure = '';
    } catch (error) {
      if (attempt === this.attempt) this.onFailure(error);
    }
  }

  private async relist(client: KubernetesClient) {
    const { watched, labelSelector } = this.options;
    const list = await client.listWithVersion(
      watched.apiVersion,
      watched.kind,
      labelSelector,
    );
    const present = new Set<string>();
    for (const object of list.items) {
      const uid = object.metadata?.uid;
      if (uid) present.add(uid);
      this.observe(object, !this.listedOnce);
    }
    if (this.listedOnce) {
      for (const [uid, { storeId, state }] of this.states) {
        if (present.has(uid)) continue;
        this.states.delete(uid);
        if (watched.wakes(state, undefined))
          this.options.onStoreChanged(storeId);
      }
    }
    this.listedOnce = true;
    this.resourceVersion = list.resourceVersion;
  }

  private onEvent(type: string, object: any) {
    if (type === 'ERROR') {
      // 410 Gone: the resourceVersion is older than the API server keeps; list again.
      if (object?.code === 410) this.resourceVersion = '';
      return;
    }
    const version = object?.metadata?.resourceVersion;
    if (type === 'ADDED' || type === 'MODIFIED') this.observe(object, false);
    else if (type === 'DELETED') this.forget(object);
    if (version) this.resourceVersion = version;
  }

  /** Records an object's state; reports its store when the change is one it may wait for. */
  private observe(object: KubernetesObject, quiet: boolean) {
    const uid = object.metadata?.uid;
    const storeId = object.metadata?.labels?.[this.options.storeLabel];
    if (!uid || !storeId) return;
    const state = this.options.watched.stateOf(object);
    const before = this.states.get(uid)?.state;
    this.states.set(uid, { storeId, state });
    if (!quiet && before !== state && this.options.watched.wakes(before, state))
      this.options.onStoreChanged(storeId);
  }

  private forget(object: KubernetesObject) {
    const uid = object.metadata?.uid;
    const known = uid ? this.states.get(uid) : undefined;
    if (!uid || !known) return;
    this.states.delete(uid);
    if (this.options.watched.wakes(known.state, undefined))
      this.options.onStoreChanged(known.storeId);
  }

  private onEnd(error: unknown) {
    this.request = undefined;
    if (!this.running) return;
    if (!error && performance.now() - this.openedAt >= SHORTEST_WATCH_MS) {
      // The API server ended the request (timeoutSeconds) or a 410 came as an event: go on
      // from the last resourceVersion (or list again), without counting it as a failure.
      void this.connect();
      return;
    }
    if (!error) {
      this.onFailure(new Error('the API server ended the watch at once'));
      return;
    }
    if (watchStatus(error) === 410) {
      this.resourceVersion = '';
      void this.connect();
      return;
    }
    this.onFailure(error);
  }

  private onFailure(error: unknown) {
    this.held = false;
    this.failures++;
    const status = watchStatus(error);
    const refused = status === 401 || status === 403;
    const reason = refused
      ? `the API server refused it (${status}); check the controller role's list and watch on ${this.resource}`
      : String((error as Error)?.message ?? error);
    // Without a cluster the reconciler says so on every store; nothing to add here.
    if (reason !== this.lastFailure && !isNoCluster(error)) {
      this.lastFailure = reason;
      this.options.logger.warn(
        `Cannot watch ${this.resource}: ${reason}. Stores waiting on ${this.resource} are polled every few seconds until the watch is back`,
      );
    }
    const delayMs =
      refused || isNoCluster(error)
        ? REFUSED_RETRY_MS
        : Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (this.failures - 1));
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(), delayMs);
    this.retryTimer.unref();
  }
}

function watchPath(apiVersion: string, resource: string): string {
  return apiVersion.includes('/')
    ? `/apis/${apiVersion}/${resource}`
    : `/api/${apiVersion}/${resource}`;
}

/** client-node's Watch reports a refused request as an Error with `statusCode`. */
function watchStatus(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown })?.statusCode;
  return typeof status === 'number' ? status : statusCode(error);
}

function isNoCluster(error: unknown): boolean {
  return (error as Error)?.name === 'NoClusterConfiguredError';
}
