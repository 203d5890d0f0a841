import { LoggerService } from '@backstage/backend-plugin-api';
import { KubernetesObject, V1Job } from '@kubernetes/client-node';
import { StoreStep } from '@storeplane/plugin-stores-common';
import { KubernetesClient } from '../kubernetes/KubernetesClient';
import { ResourceWatch, WatchedResource } from '../kubernetes/ResourceWatch';
import { HELM_ROLE_SELECTOR } from '../kubernetes/storeResources';
import { isWorkloadAvailable, Workload } from './steps';

/** What a waiting step waits on. */
export type WaitedOn = 'jobs' | 'workloads' | 'namespaces';

/** How soon a waiting store is looked at again: soon when polled, rarely when watched. */
export interface WaitRequeue {
  requeueMs(on: WaitedOn, pollMs: number): number;
}

/** Polling only: what the reconciler does without watches. */
export const POLL_ONLY: WaitRequeue = { requeueMs: (_on, pollMs) => pollMs };

/** Every Storeplane object of a store carries it: namespace, Helm Jobs, the chart's workloads. */
export const STORE_ID_LABEL = 'storeplane.io/store-id';

/** A watched object type, and the steps a store must be at for its changes to matter. */
interface StoreWatch {
  watched: WatchedResource;
  /** Only Storeplane's own Helm Jobs, not the chart's hook Jobs, which carry the store id too. */
  selector: string;
  /** null: a Ready or Degraded store, whose checks read the workloads. */
  steps: Array<StoreStep | null>;
}

const helmJobs: WatchedResource = {
  resource: 'jobs',
  apiVersion: 'batch/v1',
  kind: 'Job',
  stateOf: object => {
    const conditions = (object as V1Job).status?.conditions ?? [];
    const finished = conditions.some(
      c =>
        (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
    );
    return finished ? 'finished' : 'running';
  },
  // A Job that finished is what the helm step waits for. Deleted Jobs wake nobody: Storeplane
  // deletes them itself (a failed run, before a retry's backoff), and the step that waits for
  // another Job to go polls.
  wakes: (before, after) => after === 'finished' && before !== 'finished',
};

const workloads = (kind: 'Deployment' | 'StatefulSet'): WatchedResource => ({
  resource: kind === 'Deployment' ? 'deployments' : 'statefulsets',
  apiVersion: 'apps/v1',
  kind,
  stateOf: object =>
    isWorkloadAvailable({ ...(object as Workload), kind })
      ? 'available'
      : 'unavailable',
  // Became available (the workloads step) or unavailable (a Ready store's check, which makes
  // it Degraded); a new object counts only when it appeared available while nobody watched.
  wakes: (before, after) =>
    after !== undefined &&
    before !== after &&
    !(before === undefined && after === 'unavailable'),
});

const namespaces: WatchedResource = {
  resource: 'namespaces',
  apiVersion: 'v1',
  kind: 'Namespace',
  stateOf: (object: KubernetesObject) =>
    object.metadata?.deletionTimestamp ? 'terminating' : 'active',
  // Deletion's last step waits for the namespace to be gone.
  wakes: (before, after) => before !== undefined && after === undefined,
};

export interface StoreWatchesOptions {
  kubernetes: () => KubernetesClient;
  logger: LoggerService;
  /** A store's object changed in a way it waits for if it is at one of `steps`. */
  onStoreChanged(storeId: string, steps: ReadonlyArray<StoreStep | null>): void;
  /** How soon a waiting store is looked at again while its watches are held. */
  resyncMs: number;
}

/**
 * The watches of one replica: Helm Jobs, Deployments, StatefulSets and namespaces carrying the
 * store-id label, cluster-wide. A waiting step requeues on the slow resync while the watches
 * it needs are held, and polls otherwise (watch refused by RBAC, API server unreachable, a
 * restart under way), so a lost watch makes stores slower, never stuck.
 */
export class StoreWatches implements WaitRequeue {
  private readonly watches: Record<string, ResourceWatch>;

  constructor(private readonly options: StoreWatchesOptions) {
    const watches: StoreWatch[] = [
      {
        watched: helmJobs,
        selector: `${STORE_ID_LABEL},${HELM_ROLE_SELECTOR}`,
        steps: ['helmInstall', 'helmUninstall'],
      },
      {
        watched: workloads('Deployment'),
        selector: STORE_ID_LABEL,
        steps: ['workloads', null],
      },
      {
        watched: workloads('StatefulSet'),
        selector: STORE_ID_LABEL,
        steps: ['workloads', null],
      },
      {
        watched: namespaces,
        selector: STORE_ID_LABEL,
        steps: ['namespaceDeletion'],
      },
    ];
    this.watches = Object.fromEntries(
      watches.map(({ watched, selector, steps }) => [
        watched.resource,
        new ResourceWatch({
          watched,
          labelSelector: selector,
          storeLabel: STORE_ID_LABEL,
          kubernetes: options.kubernetes,
          logger: options.logger,
          onStoreChanged: storeId => options.onStoreChanged(storeId, steps),
        }),
      ]),
    );
  }

  start(): void {
    Object.values(this.watches).forEach(w => w.start());
  }

  stop(): void {
    Object.values(this.watches).forEach(w => w.stop());
  }

  /** Which watches are open now, by resource. */
  held(): Record<string, boolean> {
    return Object.fromEntries(
      Object.entries(this.watches).map(([resource, w]) => [
        resource,
        w.isHeld(),
      ]),
    );
  }

  requeueMs(on: WaitedOn, pollMs: number): number {
    const needed =
      on === 'workloads' ? ['deployments', 'statefulsets'] : [on as string];
    return needed.every(resource => this.watches[resource].isHeld())
      ? Math.max(pollMs, this.options.resyncMs)
      : pollMs;
  }
}
