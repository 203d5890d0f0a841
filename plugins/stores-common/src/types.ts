/**
 * Where a store is in its lifecycle. `Degraded`: the store was Ready, and its latest check
 * (workloads available, health check, guardrails) failed; it turns Ready again on its own
 * once a check passes.
 */
export type StoreStatus =
  | 'Provisioning'
  | 'Ready'
  | 'Degraded'
  | 'Failed'
  | 'Deleting';

export const STORE_STATUSES: readonly StoreStatus[] = [
  'Provisioning',
  'Ready',
  'Degraded',
  'Failed',
  'Deleting',
];

/** The store passed every gate and still exists: its links lead to its shop (which may be failing when Degraded). */
export function isStoreProvisioned(status: StoreStatus): boolean {
  return status === 'Ready' || status === 'Degraded';
}

/**
 * The gates a store passes, in order, before it is Ready (the lifecycle contract),
 * followed by the steps of deletion.
 */
export type StoreStep =
  | 'guardrails'
  | 'secret'
  | 'helmInstall'
  | 'workloads'
  | 'health'
  | 'helmUninstall'
  | 'namespaceDeletion';

export const PROVISIONING_STEPS: readonly StoreStep[] = [
  'guardrails',
  'secret',
  'helmInstall',
  'workloads',
  'health',
];

export const DELETION_STEPS: readonly StoreStep[] = [
  'helmUninstall',
  'namespaceDeletion',
];

export const STORE_STEP_TITLES: Record<StoreStep, string> = {
  guardrails: 'Namespace and guardrails',
  secret: 'Credentials secret',
  helmInstall: 'Helm install job',
  workloads: 'Workloads available',
  health: 'HTTP health check',
  helmUninstall: 'Helm uninstall job',
  namespaceDeletion: 'Namespace deleted',
};

export type StoreEventLevel = 'info' | 'warning' | 'error';

/** A store as the REST API returns it. Credentials are never part of it. */
export interface Store {
  id: string;
  name: string;
  description?: string;
  /** Entity ref of the owning user or group, e.g. `group:default/team-a`. */
  owner: string;
  /** User entity ref of whoever asked for the store. */
  createdBy: string;
  engine: string;
  plan: string;
  status: StoreStatus;
  /** The step the reconciler works on next; null when Ready or Degraded. */
  step: StoreStep | null;
  namespace: string;
  /** Ref of the catalog entity that represents the store. */
  entityRef: string;
  /** Failed attempts of the current step. */
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  storefrontUrl: string | null;
  adminUrl: string | null;
  createdAt: string;
  updatedAt: string;
  readyAt: string | null;
}

export interface StoreEvent {
  id: number;
  storeId: string;
  createdAt: string;
  /** Machine-readable kind of event, e.g. `guardrails.applied`, `retry.scheduled`. */
  type: string;
  level: StoreEventLevel;
  message: string;
  /** User or service that caused the event; null for the reconciler. */
  actor: string | null;
}

export interface StoreLinks {
  storefrontUrl: string | null;
  adminUrl: string | null;
  entityRef: string;
}

export interface StoreCredentials {
  adminUsername: string;
  adminPassword: string;
  adminUrl: string | null;
}

export interface StoreList {
  items: Store[];
  /** Stores that match, counted up to 1,000 past `offset`; a lower bound when `totalCountCapped`. */
  totalCount: number;
  /** More stores match than were counted; absent from older backends. */
  totalCountCapped?: boolean;
  offset: number;
  limit: number;
}

/** A named resource tier chosen when a store is created. */
export interface StorePlan {
  name: string;
  title: string;
  description: string;
  cpu: string;
  memory: string;
  storage: string;
  replicas: number;
}

export interface StoreEngineInfo {
  name: string;
  title: string;
}

/** A pod of a store's namespace, as `GET /stores/:id/workloads` reports it. */
export interface StorePod {
  name: string;
  /** Pending, Running, Succeeded, Failed or Unknown. */
  phase: string;
  ready: boolean;
  /** Container restarts, summed over the pod's containers. */
  restarts: number;
  /** Why a container is waiting (e.g. `CrashLoopBackOff`), if one is. */
  waitingReason: string | null;
  /** How a container last ended before its current run (e.g. `OOMKilled`), newest first. */
  lastTermination: {
    container: string;
    reason: string;
    exitCode: number;
    finishedAt: string | null;
  } | null;
  createdAt: string | null;
}

/** A Deployment or StatefulSet of a store, with its replica counts. */
export interface StoreWorkload {
  kind: 'Deployment' | 'StatefulSet';
  name: string;
  desiredReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
}

/** A PersistentVolumeClaim of a store. */
export interface StoreVolumeClaim {
  name: string;
  /** Pending, Bound or Lost. */
  phase: string;
  /** What the claim asks for, e.g. `2Gi`. */
  requested: string | null;
  /** What the bound volume provides; null until bound. */
  capacity: string | null;
  storageClass: string | null;
  /**
   * Bytes used. Always null: only the kubelet's volume stats report it, and Storeplane holds
   * no rights on nodes (see `usageNote`).
   */
  usedBytes: number | null;
}

/** What runs in a store's namespace (`GET /stores/:id/workloads`). */
export interface StoreWorkloads {
  namespace: string;
  pods: StorePod[];
  workloads: StoreWorkload[];
  volumeClaims: StoreVolumeClaim[];
  /** Why volume usage is not shown. */
  usageNote: string;
}
