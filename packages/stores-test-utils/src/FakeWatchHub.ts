/**
 * The watch side of the Kubernetes API fake: every change the fake makes is published here with
 * its resourceVersion, kept in a bounded history, and streamed to the open watches whose kind,
 * namespace and label selector it matches, as the API server streams watch events
 * (newline-delimited JSON; BOOKMARKs when asked; 410 Gone for a resourceVersion older than the
 * history; the request ends after `timeoutSeconds`).
 */

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

type WatchedObject = {
  apiVersion: string;
  kind: string;
  metadata: Record<string, any>;
};

interface PublishedEvent {
  resourceVersion: number;
  kind: string;
  namespace: string;
  labels: Record<string, string> | undefined;
  line: string;
}

export interface WatchRequest {
  apiVersion: string;
  kind: string;
  /** Undefined: every namespace. */
  namespace?: string;
  labelSelector: string | null;
  /** Empty: start with the objects there are now, as ADDED events. */
  resourceVersion: string;
  allowBookmarks: boolean;
  timeoutSeconds: number;
  /** The objects the watch selects now (for a watch without a resourceVersion). */
  current(): WatchedObject[];
}

interface Watcher {
  request: WatchRequest;
  send(line: string): void;
}

const encoder = new TextEncoder();

export class FakeWatchHub {
  private readonly history: PublishedEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  /** The oldest resourceVersion a watch can resume from (older events were dropped). */
  private oldestKept = 0;
  private latest = 0;

  constructor(
    private readonly options: {
      historyLimit?: number;
      bookmarkIntervalMs?: number;
    } = {},
  ) {}

  /** Open watches, for assertions and bench statistics. */
  get openWatches(): number {
    return this.watchers.size;
  }

  publish(
    type: WatchEventType,
    object: WatchedObject,
    resourceVersion: number,
  ) {
    const event: PublishedEvent = {
      resourceVersion,
      kind: object.kind,
      namespace: object.metadata.namespace ?? '',
      labels: object.metadata.labels,
      line: `${JSON.stringify({ type, object })}\n`,
    };
    this.latest = resourceVersion;
    this.history.push(event);
    const limit = this.options.historyLimit ?? 20_000;
    if (this.history.length > limit) {
      const dropped = this.history.splice(0, this.history.length - limit);
      this.oldestKept = dropped[dropped.length - 1].resourceVersion + 1;
    }
    for (const watcher of this.watchers) {
      if (selects(watcher.request, event)) watcher.send(event.line);
    }
  }

  /** The streaming answer to one watch request. */
  open(request: WatchRequest): ReadableStream<Uint8Array> {
    let watcher: Watcher | undefined;
    const timers: NodeJS.Timeout[] = [];
    const close = () => {
      if (watcher) this.watchers.delete(watcher);
      watcher = undefined;
      timers.forEach(clearTimeout);
      timers.forEach(clearInterval);
    };
    return new ReadableStream<Uint8Array>({
      start: controller => {
        const send = (line: string) => controller.enqueue(encoder.encode(line));
        const from = Number(request.resourceVersion || 0);
        if (from > 0 && from + 1 < this.oldestKept) {
          send(`${JSON.stringify({ type: 'ERROR', object: gone(from) })}\n`);
          controller.close();
          return;
        }
        if (from > 0) {
          for (const event of this.history) {
            if (event.resourceVersion > from && selects(request, event))
              send(event.line);
          }
        } else {
          for (const object of request.current())
            send(`${JSON.stringify({ type: 'ADDED', object })}\n`);
        }
        watcher = { request, send };
        this.watchers.add(watcher);
        if (request.allowBookmarks) {
          const bookmarks = setInterval(
            () =>
              send(
                `${JSON.stringify({
                  type: 'BOOKMARK',
                  object: {
                    apiVersion: request.apiVersion,
                    kind: request.kind,
                    metadata: { resourceVersion: String(this.latest) },
                  },
                })}\n`,
              ),
            this.options.bookmarkIntervalMs ?? 10_000,
          );
          bookmarks.unref();
          timers.push(bookmarks);
        }
        const timeout = setTimeout(() => {
          close();
          controller.close();
        }, request.timeoutSeconds * 1000);
        timeout.unref();
        timers.push(timeout);
      },
      cancel: close,
    });
  }
}

function selects(request: WatchRequest, event: PublishedEvent): boolean {
  return (
    event.kind === request.kind &&
    (request.namespace === undefined ||
      event.namespace === request.namespace) &&
    matchesLabelSelector(event.labels, request.labelSelector)
  );
}

/** Equality (`a=b`), inequality (`a!=b`) and existence (`a`, `!a`) terms, comma-separated. */
export function matchesLabelSelector(
  labels: Record<string, string> | undefined,
  selector: string | null,
): boolean {
  if (!selector) return true;
  return selector.split(',').every(term => {
    const [key, value] = term.split('!=');
    if (value !== undefined) return labels?.[key] !== value;
    const [name, wanted] = term.split('=');
    if (wanted !== undefined) return labels?.[name] === wanted;
    return term.startsWith('!')
      ? labels?.[term.slice(1)] === undefined
      : labels?.[term] !== undefined;
  });
}

function gone(resourceVersion: number) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    message: `too old resource version: ${resourceVersion}`,
    reason: 'Expired',
    code: 410,
  };
}
