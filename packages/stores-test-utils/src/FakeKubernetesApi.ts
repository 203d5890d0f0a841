import { gunzipSync, gzipSync } from 'node:zlib';
import { http, HttpResponse } from 'msw';
import {
  FakeWatchHub,
  matchesLabelSelector,
  WatchEventType,
} from './FakeWatchHub';
import { quotaStatus } from './quotaStatus';

/**
 * An in-memory Kubernetes API for msw that answers like the API server where the reconciler
 * cares: discovery, create (409 AlreadyExists, 404 missing namespace, 403 Terminating
 * namespace, 422 invalid name), server-side apply, get (404), list with label selectors, delete
 * (namespaces go Terminating until finalized; deleting a Terminating namespace is a 409;
 * foreground deletion keeps a Job until its pods are gone), SelfSubjectAccessReview, Jobs and
 * workloads whose status the test drives, helm's release records, and injected faults. With
 * `live`, it also serves watches and runs its controllers on timers, as a cluster does.
 */
export const FAKE_KUBE_SERVER = 'http://kube.test';
export const FAKE_HEALTH_BASE = 'http://health.test';

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: Record<string, any>;
  [key: string]: any;
};

const discovery: Record<
  string,
  Array<{ name: string; kind: string; namespaced: boolean }>
> = {
  '/api/v1': [
    { name: 'namespaces', kind: 'Namespace', namespaced: false },
    { name: 'resourcequotas', kind: 'ResourceQuota', namespaced: true },
    { name: 'limitranges', kind: 'LimitRange', namespaced: true },
    { name: 'secrets', kind: 'Secret', namespaced: true },
    { name: 'configmaps', kind: 'ConfigMap', namespaced: true },
    { name: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true },
    { name: 'pods', kind: 'Pod', namespaced: true },
    { name: 'services', kind: 'Service', namespaced: true },
    {
      name: 'persistentvolumeclaims',
      kind: 'PersistentVolumeClaim',
      namespaced: true,
    },
  ],
  '/apis/networking.k8s.io/v1': [
    { name: 'networkpolicies', kind: 'NetworkPolicy', namespaced: true },
  ],
  '/apis/rbac.authorization.k8s.io/v1': [
    { name: 'rolebindings', kind: 'RoleBinding', namespaced: true },
  ],
  '/apis/batch/v1': [{ name: 'jobs', kind: 'Job', namespaced: true }],
  '/apis/apps/v1': [
    { name: 'deployments', kind: 'Deployment', namespaced: true },
    { name: 'statefulsets', kind: 'StatefulSet', namespaced: true },
  ],
};

/** The label Storeplane's objects carry their store id in (its watches select by it). */
const STORE_ID_LABEL = 'storeplane.io/store-id';

const DNS_1123 =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function status(code: number, reason: string, message: string) {
  return HttpResponse.json(
    {
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      message,
      reason,
      code,
    },
    { status: code },
  );
}

export type InjectedFault = { status: number; message: string } | 'network';

interface ParsedPath {
  groupVersion: string;
  apiVersion: string;
  resource: string;
  kind: string;
  namespace?: string;
  name?: string;
}

function deepMerge(target: any, source: any): any {
  if (Array.isArray(source) || typeof source !== 'object' || source === null)
    return source;
  const out = { ...(target ?? {}) };
  for (const [key, value] of Object.entries(source))
    out[key] = deepMerge(out[key], value);
  return out;
}

const namespaceOf = (obj: Obj): string => obj.metadata.namespace ?? '';
const ageMs = (obj: Obj): number =>
  Date.now() - Date.parse(obj.metadata.creationTimestamp);

function indexed(index: Map<string, Map<string, Obj>>, value: string) {
  let entries = index.get(value);
  if (!entries) {
    entries = new Map();
    index.set(value, entries);
  }
  return entries;
}

/**
 * The fake's objects by `Kind/namespace/name`, indexed by kind and by namespace, so a request
 * costs what its namespace holds, not what the whole fake holds. Tests may set and delete
 * entries directly; the indexes follow.
 */
class ObjectStore extends Map<string, Obj> {
  private readonly byKind = new Map<string, Map<string, Obj>>();
  private readonly byNamespace = new Map<string, Map<string, Obj>>();
  /** Told of every change (a live fake streams them to its watches). */
  onChange?: (type: WatchEventType, obj: Obj) => void;

  set(key: string, obj: Obj): this {
    const existed = super.has(key);
    this.unindex(key);
    super.set(key, obj);
    indexed(this.byKind, obj.kind).set(key, obj);
    indexed(this.byNamespace, namespaceOf(obj)).set(key, obj);
    this.onChange?.(existed ? 'MODIFIED' : 'ADDED', obj);
    return this;
  }

  delete(key: string): boolean {
    const obj = super.get(key);
    this.unindex(key);
    const deleted = super.delete(key);
    if (obj) this.onChange?.('DELETED', obj);
    return deleted;
  }

  clear(): void {
    super.clear();
    this.byKind.clear();
    this.byNamespace.clear();
  }

  ofKind(kind: string): Obj[] {
    return [...(this.byKind.get(kind)?.values() ?? [])];
  }

  /** Everything in a namespace (the Namespace object itself is cluster-scoped, not in it). */
  inNamespace(namespace: string): Array<[string, Obj]> {
    return [...(this.byNamespace.get(namespace)?.entries() ?? [])];
  }

  private unindex(key: string) {
    const obj = super.get(key);
    if (!obj) return;
    this.byKind.get(obj.kind)?.delete(key);
    this.byNamespace.get(namespaceOf(obj))?.delete(key);
  }
}

export interface FakeKubernetesApiOptions {
  /**
   * Behave like a running cluster instead of a lazy one: serve watches (list resourceVersions,
   * streamed events, bookmarks, 410 Gone past the history) and, with `autoProgress`, run the
   * controllers on timers when their work is due (a Job's `jobMs` after its creation, workloads'
   * `rolloutMs` after the install, Terminating namespaces at once) rather than when a request
   * looks. For the benches' fake process; unit tests drive the fake themselves.
   */
  live?: boolean;
}

export class FakeKubernetesApi {
  readonly objects: Map<string, Obj> = new ObjectStore();
  /** The watches a live fake serves. */
  readonly watches: FakeWatchHub | undefined;
  /**
   * When set, plays the cluster's controllers on every request: Jobs succeed at once, workloads
   * are available, Terminating namespaces are finalized. For tests of whole flows.
   */
  autoProgress = false;
  /**
   * With `autoProgress`, how long a Job runs before it succeeds and how long workloads take to
   * become available after the install created them (0: at once), as a cluster's scheduling,
   * image pulls and readiness probes would take.
   */
  autoProgressTiming = { jobMs: 0, rolloutMs: 0 };
  /** Every request, as `METHOD path`, for assertions and API call counts. */
  readonly requests: string[] = [];
  /** Most Helm Jobs (role=helm) that existed in one namespace at once, counted at each create. */
  maxHelmJobsAtOnce = 0;
  /**
   * Least privilege as the chart sets it up: inside a store namespace Storeplane may only
   * write RoleBindings until the store-manager RoleBinding exists there; everything else is
   * 403, and access reviews say so.
   */
  rbacRequiresManagerBinding = false;
  healthStatus = 200;
  /** What the health check of one namespace's store answers, over `healthStatus`. */
  readonly healthStatusByNamespace = new Map<string, number>();
  /**
   * Files that pods serve over HTTP through the pod proxy, by `namespace/pod:port/path`
   * (see `serveFile`).
   */
  private readonly podFiles = new Map<string, Uint8Array>();
  /** The chart version that a Helm install Job of this fake deploys. */
  chartVersion = '0.1.0';
  private faults: Array<{
    match: (method: string, path: string) => boolean;
    fault: InjectedFault;
  }> = [];
  private resourceVersion = 1;
  private readonly progressTimers = new Set<NodeJS.Timeout>();

  constructor(options: FakeKubernetesApiOptions = {}) {
    if (!options.live) return;
    const watches = new FakeWatchHub();
    this.watches = watches;
    (this.objects as ObjectStore).onChange = (type, obj) => {
      // A deletion is a change of its own; a set carries the version `put` or `changed` gave it.
      const version =
        type === 'DELETED'
          ? ++this.resourceVersion
          : Number(obj.metadata.resourceVersion) || this.resourceVersion;
      watches.publish(
        type,
        type === 'DELETED'
          ? {
              ...obj,
              metadata: { ...obj.metadata, resourceVersion: String(version) },
            }
          : obj,
        version,
      );
    };
  }

  /** Stops a live fake's controller timers. */
  close() {
    for (const timer of this.progressTimers) clearTimeout(timer);
    this.progressTimers.clear();
  }

  /** Makes the next `times` requests matching `match` fail with `fault`. */
  injectFault(
    fault: InjectedFault,
    times = 1,
    match: (method: string, path: string) => boolean = () => true,
  ) {
    for (let i = 0; i < times; i++) this.faults.push({ match, fault });
  }

  get(
    kind: string,
    namespace: string | undefined,
    name: string,
  ): Obj | undefined {
    return this.objects.get(this.key(kind, namespace, name));
  }

  list(kind: string, namespace?: string): Obj[] {
    const store = this.objects as ObjectStore;
    if (!namespace) return store.ofKind(kind);
    return store
      .inNamespace(namespace)
      .map(([, obj]) => obj)
      .filter(obj => obj.kind === kind);
  }

  /**
   * Marks a Job complete, as the Job controller would once its pod succeeded; an install also
   * leaves what helm would: the release's workloads and a deployed release record. With
   * `terminationMessage`, the Job's succeeded pod carries it (what its container wrote to
   * /dev/termination-log).
   */
  completeJob(namespace: string, name: string, terminationMessage?: string) {
    const job = this.requireObject('Job', namespace, name);
    job.status = {
      succeeded: 1,
      conditions: [{ type: 'Complete', status: 'True' }],
    };
    this.changed(job);
    if (terminationMessage !== undefined) {
      this.put({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: `${name}-${job.metadata.uid}`,
          namespace,
          labels: { ...job.spec?.template?.metadata?.labels, 'job-name': name },
        },
        status: {
          phase: 'Succeeded',
          containerStatuses: [
            {
              name: job.spec?.template?.spec?.containers?.[0]?.name,
              state: {
                terminated: { exitCode: 0, message: terminationMessage },
              },
            },
          ],
        },
      });
    }
    const operation = job.metadata.labels?.['storeplane.io/helm-operation'];
    if (operation === 'install') {
      this.createReleaseWorkloads(namespace);
      this.putReleaseRecord(namespace, 'deployed');
    }
    // helm rollback deploys a copy of the old revision as a new one.
    if (operation === 'rollback') {
      const args: string[] = job.spec.template.spec.containers[0].args;
      const to = args[2]?.match(/^\d+$/) ? Number(args[2]) : undefined;
      const old = this.list('Secret', namespace).find(
        s =>
          s.metadata.labels?.owner === 'helm' &&
          Number(s.metadata.labels?.version) === to,
      );
      this.putReleaseRecord(
        namespace,
        'deployed',
        'woocommerce',
        old ? chartVersionOfRecord(old) : this.chartVersion,
      );
    }
  }

  /**
   * Marks a Job failed (it runs helm once: backoffLimit 0) and leaves a pod whose termination
   * message carries the helm output; `release` is the record helm left, if it got that far.
   */
  failJob(
    namespace: string,
    name: string,
    output: string,
    options: { release?: 'failed' | 'pending-install'; exitCode?: number } = {},
  ) {
    const job = this.requireObject('Job', namespace, name);
    job.status = {
      failed: 1,
      conditions: [
        {
          type: 'Failed',
          status: 'True',
          reason: 'BackoffLimitExceeded',
          message: 'Job has reached the specified backoff limit',
        },
      ],
    };
    this.changed(job);
    this.put({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${name}-${job.metadata.uid}`,
        namespace,
        labels: { ...job.spec?.template?.metadata?.labels, 'job-name': name },
      },
      status: {
        phase: 'Failed',
        containerStatuses: [
          {
            name: 'helm',
            state: {
              terminated: { exitCode: options.exitCode ?? 1, message: output },
            },
          },
        ],
      },
    });
    if (options.release) this.putReleaseRecord(namespace, options.release);
  }

  /** Helm's record of a release revision (a Secret labelled owner=helm), as helm writes it. */
  putReleaseRecord(
    namespace: string,
    releaseStatus: string,
    release = 'woocommerce',
    chartVersion = this.chartVersion,
  ) {
    const revision =
      this.list('Secret', namespace).filter(
        s =>
          s.metadata.labels?.owner === 'helm' &&
          s.metadata.labels?.name === release,
      ).length + 1;
    for (const record of this.list('Secret', namespace)) {
      if (
        record.metadata.labels?.owner === 'helm' &&
        record.metadata.labels?.status === 'deployed' &&
        releaseStatus === 'deployed'
      ) {
        record.metadata.labels.status = 'superseded';
        this.changed(record);
      }
    }
    this.put({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: `sh.helm.release.v1.${release}.v${revision}`,
        namespace,
        labels: {
          owner: 'helm',
          name: release,
          status: releaseStatus,
          version: String(revision),
        },
      },
      type: 'helm.sh/release.v1',
      data: { release: encodeReleaseRecord(release, chartVersion) },
    });
  }

  /** Helm's release records in a namespace, oldest first, as `v<revision>:<status>`. */
  releaseHistory(namespace: string, release = 'woocommerce'): string[] {
    return this.list('Secret', namespace)
      .filter(
        s =>
          s.metadata.labels?.owner === 'helm' &&
          s.metadata.labels?.name === release,
      )
      .map(s => s.metadata.labels)
      .sort((a, b) => Number(a.version) - Number(b.version))
      .map(labels => `v${labels.version}:${labels.status}`);
  }

  makeWorkloadsAvailable(
    namespace: string,
    ready: (workload: Obj) => boolean = () => true,
  ) {
    for (const workload of [
      ...this.list('Deployment', namespace),
      ...this.list('StatefulSet', namespace),
    ]) {
      if (!ready(workload)) continue;
      const replicas = workload.spec?.replicas ?? 1;
      const available = {
        replicas,
        readyReplicas: replicas,
        availableReplicas: replicas,
        updatedReplicas: replicas,
      };
      if (JSON.stringify(workload.status) === JSON.stringify(available))
        continue;
      workload.status = available;
      this.changed(workload);
    }
  }

  /** Makes a pod answer GET `path` on `port` through the pod proxy with `bytes`. */
  serveFile(
    namespace: string,
    pod: string,
    port: number,
    path: string,
    bytes: Uint8Array,
  ) {
    this.podFiles.set(`${namespace}/${pod}:${port}${path}`, bytes);
  }

  /**
   * What the kubelet does for a pod that is not a Job's: starts it (Running, Ready). Pods of
   * Jobs come and go with `completeJob` and `failJob`.
   */
  startPods(namespace: string) {
    for (const pod of this.list('Pod', namespace)) {
      if (pod.status?.phase !== 'Pending' || pod.metadata.deletionTimestamp)
        continue;
      pod.status = {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True' }],
      };
      this.changed(pod);
    }
  }

  /** What the kubelet does at a pod's activeDeadlineSeconds: stops it (Failed). */
  expirePod(namespace: string, name: string) {
    const pod = this.requireObject('Pod', namespace, name);
    pod.status = { phase: 'Failed', reason: 'DeadlineExceeded' };
    this.changed(pod);
  }

  /** What the namespace controller does: remove a Terminating namespace and all it contains. */
  finalizeTerminatingNamespaces() {
    for (const ns of this.list('Namespace')) this.finalizeIfTerminating(ns);
  }

  /** What the garbage collector does for foreground deletion: pods first, then their Job. */
  finishForegroundDeletions() {
    for (const job of this.list('Job')) this.finishForegroundDeletion(job);
  }

  /** One round of what the Job, Deployment, namespace and garbage collector controllers would do. */
  progress() {
    for (const ns of this.list('Namespace')) this.progressNamespace(ns);
  }

  /**
   * The controllers' round for one namespace only. With `autoProgress`, a request plays it for
   * the namespace it reads or writes, the only one whose state it can see, so the fake costs
   * the same per request with 10 stores or 1,000.
   */
  private progressNamespace(ns: Obj) {
    const namespace = ns.metadata.name;
    for (const job of this.list('Job', namespace))
      this.finishForegroundDeletion(job);
    const { jobMs, rolloutMs } = this.autoProgressTiming;
    for (const job of this.list('Job', namespace)) {
      if (!job.status?.conditions && ageMs(job) >= jobMs)
        this.completeJob(namespace, job.metadata.name);
    }
    this.startPods(namespace);
    if (rolloutMs === 0) this.makeWorkloadsAvailable(namespace);
    else this.makeWorkloadsAvailable(namespace, w => ageMs(w) >= rolloutMs);
    this.finalizeIfTerminating(ns);
  }

  private finishForegroundDeletion(job: Obj) {
    if (job.metadata.deletionTimestamp)
      this.removeJobAndPods(job.metadata.namespace, job.metadata.name);
  }

  private finalizeIfTerminating(ns: Obj) {
    if (ns.status?.phase !== 'Terminating') return;
    const store = this.objects as ObjectStore;
    for (const [key] of store.inNamespace(ns.metadata.name))
      this.objects.delete(key);
    this.objects.delete(this.key('Namespace', undefined, ns.metadata.name));
  }

  /**
   * Plays the controllers where a request can see their work: the namespace it reads or
   * writes, everywhere for a cluster-wide list, nowhere for discovery and access reviews.
   */
  private progressFor(path: string) {
    const parsed = this.parsePath(path);
    if (!parsed) return;
    const namespace =
      parsed.namespace ??
      (parsed.kind === 'Namespace' ? parsed.name : undefined);
    if (!namespace) {
      this.progress();
      return;
    }
    const ns = this.get('Namespace', undefined, namespace);
    if (ns) this.progressNamespace(ns);
  }

  /** Answers one request to the API (also usable behind a real HTTP server, see bench/). */
  async respond(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const method = request.method;
    this.requests.push(`${method} ${url.pathname}`);
    if (this.autoProgress) this.progressFor(url.pathname);
    const faultIndex = this.faults.findIndex(f =>
      f.match(method, url.pathname),
    );
    if (faultIndex >= 0) {
      const [{ fault }] = this.faults.splice(faultIndex, 1);
      if (fault === 'network') return HttpResponse.error();
      return status(
        fault.status,
        fault.status === 409 ? 'Conflict' : 'InternalError',
        fault.message,
      );
    }
    return this.route(method, url, request);
  }

  handlers() {
    return [
      http.all(`${FAKE_KUBE_SERVER}/*`, ({ request }) => this.respond(request)),
      http.get(
        `${FAKE_HEALTH_BASE}/:namespace/*`,
        ({ params }) =>
          new HttpResponse('ok', {
            status:
              this.healthStatusByNamespace.get(String(params.namespace)) ??
              this.healthStatus,
          }),
      ),
    ];
  }

  private async route(method: string, url: URL, request: Request) {
    const path = url.pathname;
    if (discovery[path]) {
      return HttpResponse.json({
        kind: 'APIResourceList',
        groupVersion: path === '/api/v1' ? 'v1' : path.replace('/apis/', ''),
        resources: discovery[path].map(r => ({
          ...r,
          singularName: '',
          verbs: ['get', 'list', 'create', 'patch', 'delete'],
        })),
      });
    }
    if (
      path === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews' &&
      method === 'POST'
    ) {
      const body = (await request.json()) as any;
      const namespace = body.spec?.resourceAttributes?.namespace;
      return HttpResponse.json(
        { ...body, status: { allowed: this.hasNamespaceRights(namespace) } },
        { status: 201 },
      );
    }
    const podProxy =
      /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/:]+):(\d+)\/proxy(\/.*)?$/.exec(
        path,
      );
    if (podProxy) return this.podProxy(podProxy[1], podProxy[2], podProxy);
    const proxy =
      /^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/]+)\/proxy(\/.*)?$/.exec(
        path,
      );
    if (proxy)
      return new HttpResponse('wordpress', {
        status: this.healthStatusByNamespace.get(proxy[1]) ?? this.healthStatus,
      });

    const parsed = this.parsePath(path);
    if (!parsed)
      return status(
        404,
        'NotFound',
        `the server could not find the requested resource (${path})`,
      );
    const { kind, namespace, name } = parsed;
    // Storeplane may create and patch RoleBindings cluster-wide, but reads them only with the
    // store-manager role, like everything else in a store namespace.
    if (
      (kind !== 'RoleBinding' || method === 'GET') &&
      !this.hasNamespaceRights(namespace)
    ) {
      return status(
        403,
        'Forbidden',
        `${
          parsed.resource
        } is forbidden: User "system:serviceaccount:storeplane-system:storeplane" cannot ${method.toLowerCase()} resource "${
          parsed.resource
        }" in API group "" in the namespace "${namespace}"`,
      );
    }

    if (method === 'GET' && !name) {
      const selector = url.searchParams.get('labelSelector');
      const selected = () =>
        this.list(kind, namespace).filter(o =>
          matchesLabelSelector(o.metadata.labels, selector),
        );
      const watch = url.searchParams.get('watch');
      if (this.watches && (watch === 'true' || watch === '1')) {
        const stream = this.watches.open({
          apiVersion: parsed.apiVersion,
          kind,
          namespace,
          labelSelector: selector,
          resourceVersion: url.searchParams.get('resourceVersion') ?? '',
          allowBookmarks:
            url.searchParams.get('allowWatchBookmarks') === 'true',
          timeoutSeconds: Number(
            url.searchParams.get('timeoutSeconds') ?? 1800,
          ),
          current: selected,
        });
        return new HttpResponse(stream, {
          headers: { 'content-type': 'application/json' },
        });
      }
      // Like the API server: list items carry no apiVersion/kind.
      const items = selected().map(
        ({ apiVersion: _apiVersion, kind: _kind, ...item }) => item,
      );
      return HttpResponse.json({
        apiVersion: parsed.apiVersion,
        kind: `${kind}List`,
        metadata: { resourceVersion: String(this.resourceVersion) },
        items,
      });
    }
    if (method === 'GET') {
      const obj = this.get(kind, namespace, name!);
      if (obj && kind === 'ResourceQuota') {
        obj.status = quotaStatus(
          obj,
          this.list('Pod', namespace),
          this.list('PersistentVolumeClaim', namespace),
        );
      }
      return obj
        ? HttpResponse.json(obj)
        : status(404, 'NotFound', `${parsed.resource} "${name}" not found`);
    }
    if (method === 'DELETE') {
      // Like the API server: propagationPolicy as a query parameter or in DeleteOptions.
      const body = await request.text();
      const propagation =
        url.searchParams.get('propagationPolicy') ??
        (body ? JSON.parse(body).propagationPolicy : undefined);
      return this.remove(parsed, propagation);
    }
    if (method === 'POST')
      return this.create(parsed, (await request.json()) as Obj);
    if (method === 'PATCH') {
      if (!request.headers.get('content-type')?.includes('apply-patch')) {
        return status(
          415,
          'UnsupportedMediaType',
          'only server-side apply is supported by this fake',
        );
      }
      if (!url.searchParams.get('fieldManager'))
        return status(422, 'Invalid', 'fieldManager is required for apply');
      const body = JSON.parse(await request.text()) as Obj;
      return this.apply(parsed, body);
    }
    return status(405, 'MethodNotAllowed', `${method} is not supported`);
  }

  /**
   * The API server's pod proxy: 404 for a pod that does not exist, 503 for one that does not
   * run (no address to connect to), else what the pod serves (busybox httpd's 404 page for a
   * file it does not have).
   */
  private podProxy(namespace: string, name: string, match: string[]) {
    const [, , , port, filePath] = match;
    if (!this.hasNamespaceRights(namespace))
      return status(403, 'Forbidden', `pods "${name}" is forbidden`);
    const pod = this.get('Pod', namespace, name);
    if (!pod) return status(404, 'NotFound', `pods "${name}" not found`);
    if (pod.status?.phase !== 'Running')
      return status(
        503,
        'ServiceUnavailable',
        `error trying to reach service: pod ${name} is not running`,
      );
    const bytes = this.podFiles.get(`${namespace}/${name}:${port}${filePath}`);
    if (!bytes)
      return new HttpResponse('404 Not Found', {
        status: 404,
        headers: { 'Content-Type': 'text/html' },
      });
    return new HttpResponse(bytes, {
      status: 200,
      headers: { 'Content-Length': String(bytes.length) },
    });
  }

  private hasNamespaceRights(namespace: string | undefined) {
    return (
      !this.rbacRequiresManagerBinding ||
      !namespace ||
      this.get('RoleBinding', namespace, 'storeplane-store-manager') !==
        undefined
    );
  }

  private admissionProblem(parsed: ParsedPath, obj: Obj) {
    const name = obj.metadata?.name;
    if (!name || !DNS_1123.test(name) || name.length > 253) {
      return status(
        422,
        'Invalid',
        `${obj.kind} "${name}" is invalid: metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters`,
      );
    }
    if (parsed.namespace) {
      const ns = this.get('Namespace', undefined, parsed.namespace);
      if (!ns)
        return status(
          404,
          'NotFound',
          `namespaces "${parsed.namespace}" not found`,
        );
      if (ns.status?.phase === 'Terminating') {
        return status(
          403,
          'Forbidden',
          `${parsed.resource} "${name}" is forbidden: unable to create new content in namespace ${parsed.namespace} because it is being terminated`,
        );
      }
    }
    return undefined;
  }

  private create(parsed: ParsedPath, body: Obj) {
    const problem = this.admissionProblem(parsed, body);
    if (problem) return problem;
    if (this.get(parsed.kind, parsed.namespace, body.metadata.name)) {
      return status(
        409,
        'AlreadyExists',
        `${parsed.resource} "${body.metadata.name}" already exists`,
      );
    }
    const obj = this.put({
      ...body,
      apiVersion: parsed.apiVersion,
      kind: parsed.kind,
      metadata: { ...body.metadata, namespace: parsed.namespace },
      ...(parsed.kind === 'Pod' ? { status: { phase: 'Pending' } } : {}),
    });
    if (
      obj.kind === 'Job' &&
      obj.metadata.labels?.['storeplane.io/role'] === 'helm'
    ) {
      const atOnce = this.list('Job', parsed.namespace).filter(
        job => job.metadata.labels?.['storeplane.io/role'] === 'helm',
      ).length;
      this.maxHelmJobsAtOnce = Math.max(this.maxHelmJobsAtOnce, atOnce);
    }
    this.scheduleControllersFor(obj);
    return HttpResponse.json(obj, { status: 201 });
  }

  private apply(parsed: ParsedPath, body: Obj) {
    const existing = this.get(parsed.kind, parsed.namespace, parsed.name!);
    if (!existing) {
      const problem = this.admissionProblem(parsed, body);
      if (problem) return problem;
    }
    const merged = deepMerge(existing ? structuredClone(existing) : {}, body);
    merged.metadata.namespace = parsed.namespace;
    const changed =
      !existing ||
      JSON.stringify(stripMeta(existing)) !== JSON.stringify(stripMeta(merged));
    if (!changed) return HttpResponse.json(existing);
    const applied = this.put(merged);
    this.scheduleControllersFor(applied);
    return HttpResponse.json(applied, { status: existing ? 200 : 201 });
  }

  private remove(parsed: ParsedPath, propagationPolicy?: string) {
    const obj = this.get(parsed.kind, parsed.namespace, parsed.name!);
    if (!obj)
      return status(
        404,
        'NotFound',
        `${parsed.resource} "${parsed.name}" not found`,
      );
    if (parsed.kind === 'Namespace') {
      if (obj.status?.phase === 'Terminating') {
        return status(
          409,
          'Conflict',
          `Operation cannot be fulfilled on namespaces "${parsed.name}": The system is ensuring all content is removed from this namespace.`,
        );
      }
      obj.status = { phase: 'Terminating' };
      obj.metadata.deletionTimestamp = new Date().toISOString();
      this.changed(obj);
      this.scheduleProgress(parsed.name!, 0);
      return HttpResponse.json(obj);
    }
    if (parsed.kind === 'Job') {
      if (propagationPolicy === 'Foreground') {
        obj.metadata.deletionTimestamp ??= new Date().toISOString();
        obj.metadata.finalizers = ['foregroundDeletion'];
        this.changed(obj);
        this.scheduleProgress(parsed.namespace!, 0);
        return HttpResponse.json(obj);
      }
      this.removeJobAndPods(parsed.namespace!, parsed.name!);
      return HttpResponse.json({
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Success',
      });
    }
    this.objects.delete(this.key(parsed.kind, parsed.namespace, parsed.name!));
    return HttpResponse.json({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Success',
    });
  }

  private put(obj: Obj): Obj {
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(++this.resourceVersion);
    stored.metadata.uid ??= `uid-${this.resourceVersion}`;
    stored.metadata.creationTimestamp ??= new Date().toISOString();
    if (stored.kind === 'Namespace') stored.status ??= { phase: 'Active' };
    this.objects.set(
      this.key(stored.kind, stored.metadata.namespace, stored.metadata.name),
      stored,
    );
    return stored;
  }

  /** Records a change made in place, as the API server would: a new resourceVersion, an event. */
  private changed(obj: Obj) {
    obj.metadata.resourceVersion = String(++this.resourceVersion);
    this.objects.set(
      this.key(obj.kind, obj.metadata.namespace, obj.metadata.name),
      obj,
    );
  }

  /** A live fake's controllers look at a new Job or Pod when its work is due. */
  private scheduleControllersFor(obj: Obj) {
    const namespace = obj.metadata.namespace;
    if (!namespace) return;
    if (obj.kind === 'Job')
      this.scheduleProgress(namespace, this.autoProgressTiming.jobMs);
    if (obj.kind === 'Pod') this.scheduleProgress(namespace, 0);
  }

  /** With `live` and `autoProgress`: the controllers' round for one namespace after `delayMs`. */
  private scheduleProgress(namespace: string, delayMs: number) {
    if (!this.watches || !this.autoProgress) return;
    // Ages are compared in whole milliseconds of the creation timestamp: a little late is due.
    const timer = setTimeout(
      () => {
        this.progressTimers.delete(timer);
        const ns = this.get('Namespace', undefined, namespace);
        if (ns) this.progressNamespace(ns);
      },
      delayMs > 0 ? delayMs + 5 : 0,
    );
    timer.unref();
    this.progressTimers.add(timer);
  }

  private removeJobAndPods(namespace: string, name: string) {
    for (const pod of this.list('Pod', namespace)) {
      if (pod.metadata.labels?.['job-name'] === name)
        this.objects.delete(this.key('Pod', namespace, pod.metadata.name));
    }
    this.objects.delete(this.key('Job', namespace, name));
  }

  private createReleaseWorkloads(namespace: string) {
    // The chart labels the release's workloads with the store id its namespace carries.
    const storeId = this.get('Namespace', undefined, namespace)?.metadata
      .labels?.[STORE_ID_LABEL];
    const labels = {
      'app.kubernetes.io/instance': 'woocommerce',
      ...(storeId ? { [STORE_ID_LABEL]: storeId } : {}),
    };
    this.scheduleProgress(namespace, this.autoProgressTiming.rolloutMs);
    this.put({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'woocommerce-wordpress', namespace, labels },
      spec: { replicas: 1 },
      status: {},
    });
    this.put({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'woocommerce-mariadb', namespace, labels },
      spec: { replicas: 1 },
      status: {},
    });
  }

  private requireObject(kind: string, namespace: string, name: string) {
    const obj = this.get(kind, namespace, name);
    if (!obj)
      throw new Error(`fake: ${kind} ${namespace}/${name} does not exist`);
    return obj;
  }

  private key(kind: string, namespace: string | undefined, name: string) {
    return `${kind}/${namespace ?? ''}/${name}`;
  }

  private parsePath(path: string): ParsedPath | undefined {
    const match = /^\/(api\/v1|apis\/[^/]+\/[^/]+)\/(.*)$/.exec(path);
    if (!match) return undefined;
    const groupVersion = `/${match[1]}`;
    const parts = match[2].split('/');
    let namespace: string | undefined;
    if (parts[0] === 'namespaces' && parts.length >= 3) {
      namespace = parts[1];
      parts.splice(0, 2);
    }
    const [resource, name] = parts;
    const info = discovery[groupVersion]?.find(r => r.name === resource);
    if (!info) return undefined;
    if (resource === 'namespaces' && !name && namespace) return undefined;
    return {
      groupVersion,
      apiVersion:
        groupVersion === '/api/v1' ? 'v1' : groupVersion.replace('/apis/', ''),
      resource,
      kind: info.kind,
      namespace: info.namespaced ? namespace : undefined,
      name,
    };
  }
}

function stripMeta(obj: Obj) {
  const { resourceVersion, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/** Helm's encoding of a release record: gzipped JSON, base64 by Helm, base64 again as Secret data. */
function encodeReleaseRecord(name: string, chartVersion: string): string {
  const json = JSON.stringify({
    name,
    chart: { metadata: { name: 'woocommerce-store', version: chartVersion } },
  });
  return Buffer.from(gzipSync(json).toString('base64')).toString('base64');
}

function chartVersionOfRecord(record: any): string {
  const encoded = Buffer.from(record.data.release, 'base64').toString();
  return JSON.parse(gunzipSync(Buffer.from(encoded, 'base64')).toString()).chart
    .metadata.version;
}
