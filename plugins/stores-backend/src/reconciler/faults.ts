import {
  apiMessage,
  KubernetesTimeoutError,
  networkCode,
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
        `Kubernetes refused the request (403): ${message}. Storeplane's service account lacks this permission; check the ClusterRoles from the storeplane-rbac chart.`,
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

/**
 * What helm printed when it failed, sorted like API errors: the cluster's transient trouble
 * (admission webhooks not answering, rate limiting, server errors, network, etcd, conflicts, a
 * release locked by another run) is retried; everything else is helm's own verdict on the
 * chart or values (template and schema errors, immutable fields, quota) and fails the store.
 */
const TRANSIENT_HELM_OUTPUT: Array<[RegExp, string, string]> = [
  [
    /failed calling webhook/i,
    'webhook',
    'an admission webhook in the cluster was not answering',
  ],
  [
    /another operation \(install\/upgrade\/rollback\) is in progress/i,
    'helm_locked',
    'the release was locked by an earlier Helm run that was stopped midway',
  ],
  [
    /too many requests|rate limit/i,
    'rate_limited',
    'the Kubernetes API was rate limiting',
  ],
  [
    /etcdserver: (request timed out|leader changed|too many requests)/i,
    'server_error',
    'etcd behind the Kubernetes API was not answering',
  ],
  [
    // The API server's own 504 (StatusReasonTimeout): it gave up on a request it was too busy
    // to finish (seen with 500 stores at once on two cores), not helm's wait for the release.
    /request did not complete within (the )?requested timeout/i,
    'server_error',
    'the Kubernetes API was too busy to finish a request in time',
  ],
  [
    /internal error occurred|the server is currently unable to handle the request|service unavailable|the server was unable to return a response|an error on the server|gateway timeout|bad gateway/i,
    'server_error',
    'the Kubernetes API answered with a server error',
  ],
  [
    /the object has been modified|please apply your changes to the latest version/i,
    'conflict',
    'an object changed while helm updated it',
  ],
  [
    /connection refused|connection reset|broken pipe|i\/o timeout|TLS handshake timeout|no route to host|unexpected EOF|http2: client connection lost|no endpoints available for service|Client\.Timeout exceeded/i,
    'network',
    'the network to the Kubernetes API failed',
  ],
];

/** Sorts a failed Helm Job by helm's own output (the pod's termination message). */
export function classifyHelmFailure(
  /** e.g. `Helm install Job helm-install-3` */
  job: string,
  failure: { output?: string; jobMessage: string; exitCode?: number },
): StoreFault {
  const output = failure.output?.trim();
  const details = output
    ? `${failure.jobMessage}. Helm output (last lines):\n${output
        .split('\n')
        .slice(-20)
        .join('\n')}`
    : failure.jobMessage;
  // Killed from outside (node lost, eviction, the kubelet's deadline), or gone without a
  // word: helm did not get to finish, whatever it had printed so far.
  const killed = failure.exitCode === 137 || failure.exitCode === 143;
  if (killed || (!output && failure.exitCode === undefined)) {
    return new StoreFault(
      `${job} was interrupted before helm finished (${details}); it runs again`,
      'transient',
      'helm_interrupted',
    );
  }
  if (!output) {
    return new StoreFault(
      `${job} failed: ${details}`,
      'permanent',
      'helm_failed',
    );
  }
  for (const [pattern, reason, what] of TRANSIENT_HELM_OUTPUT) {
    if (pattern.test(output)) {
      return new StoreFault(
        `${job} failed because ${what}; it runs again after a backoff. ${details}`,
        'transient',
        `helm_${reason.replace(/^helm_/, '')}`,
      );
    }
  }
  return new StoreFault(
    `${job} failed: ${details}`,
    'permanent',
    'helm_failed',
  );
}
