import {
  apiMessage,
  KubernetesTimeoutError,
  statusCode,
} from '../kubernetes/KubernetesClient';

export type FaultKind = 'transient' | 'permanent';

/** A reconcile step that did not succeed, in plain words, with whether retrying can help. */
export class StoreFault extends Error {
  readonly name = 'StoreFault';
  constructor(
    message: string,
    readonly kind: FaultKind,
    /** Short label for metrics, e.g. `conflict`, `network`, `forbidden`. */
    readonly reason: string,
  ) {
    super(message);
  }
}

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

function networkCode(error: unknown): string | undefined {
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

/**
 * Sorts any error from a step into transient (retry with backoff) or permanent (Failed),
 * following the Kubernetes API's status codes.
 */
export function classifyFault(error: unknown): StoreFault {
  if (error instanceof StoreFault) return error;
  if (error instanceof KubernetesTimeoutError) {
    return new StoreFault(
      `${error.message}; will retry`,
      'transient',
      'timeout',
    );
  }
  const code = statusCode(error);
  const message =
    apiMessage(error) ?? (error as Error)?.message ?? String(error);
  if (/failed calling webhook/i.test(message)) {
    return new StoreFault(
      `An admission webhook in the cluster is not answering (${message}); will retry`,
      'transient',
      'webhook',
    );
  }
  if (code !== undefined) {
    if (code === 409)
      return new StoreFault(
        `Conflict writing to Kubernetes: ${message}`,
        'transient',
        'conflict',
      );
    if (code === 429)
      return new StoreFault(
        `Kubernetes API is rate limiting: ${message}`,
        'transient',
        'rate_limited',
      );
    if (code >= 500)
      return new StoreFault(
        `Kubernetes API error ${code}: ${message}`,
        'transient',
        'server_error',
      );
    if (code === 403 && /being terminated/i.test(message)) {
      return new StoreFault(
        `The store namespace is still being deleted from an earlier attempt: ${message}`,
        'transient',
        'namespace_terminating',
      );
    }
    if (code === 403) {
      return new StoreFault(
        `Kubernetes refused the request (403): ${message}. Storeplane's service account lacks this permission; check the ClusterRoles from charts/backstage-storeplane.`,
        'permanent',
        'forbidden',
      );
    }
    if (code === 401) {
      return new StoreFault(
        `Kubernetes rejected Storeplane's credentials (401): ${message}. Check storeplane.kubernetes in app-config.`,
        'permanent',
        'unauthorized',
      );
    }
    if (code === 400 || code === 422) {
      return new StoreFault(
        `Kubernetes rejected an object as invalid (${code}): ${message}`,
        'permanent',
        'invalid',
      );
    }
    if (code === 404)
      return new StoreFault(
        `Not found in Kubernetes: ${message}`,
        'transient',
        'not_found',
      );
    return new StoreFault(
      `Kubernetes API answered ${code}: ${message}`,
      'permanent',
      'api_error',
    );
  }
  const network = networkCode(error);
  if (network) {
    return new StoreFault(
      `The Kubernetes API cannot be reached (${network}): ${message}; will retry`,
      'transient',
      'network',
    );
  }
  return new StoreFault(message, 'transient', 'unknown');
}

/** Exponential backoff with equal jitter: between half and all of min(max, initial * 2^(attempt-1)). */
export function backoffDelay(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
