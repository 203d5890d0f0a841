import { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import {
  StorePod,
  StoreVolumeClaim,
  StoreWorkload,
  StoreWorkloads,
} from '@storeplane/plugin-stores-common';
import { KubernetesClient } from '../kubernetes/KubernetesClient';

export const VOLUME_USAGE_NOTE =
  "Volume usage is not shown: only the kubelet's volume stats report it, and Storeplane holds no rights on nodes. Your cluster's metrics (kubelet_volume_stats_used_bytes) have it.";

interface ReplicatedWorkload {
  kind?: string;
  metadata?: { name?: string };
  spec?: { replicas?: number };
  status?: { readyReplicas?: number; availableReplicas?: number };
}

const iso = (value: unknown) =>
  value ? new Date(value as string | Date).toISOString() : null;

function toPod(pod: V1Pod): StorePod {
  const containers = pod.status?.containerStatuses ?? [];
  const lastTerminations = containers
    .filter(c => c.lastState?.terminated)
    .map(c => ({
      container: c.name,
      reason: c.lastState!.terminated!.reason ?? 'Unknown',
      exitCode: c.lastState!.terminated!.exitCode,
      finishedAt: iso(c.lastState!.terminated!.finishedAt),
    }))
    .sort((a, b) => (b.finishedAt ?? '').localeCompare(a.finishedAt ?? ''));
  return {
    name: pod.metadata!.name!,
    phase: pod.status?.phase ?? 'Unknown',
    ready:
      pod.status?.conditions?.some(
        c => c.type === 'Ready' && c.status === 'True',
      ) ?? false,
    restarts: containers.reduce((sum, c) => sum + c.restartCount, 0),
    waitingReason:
      containers.find(c => c.state?.waiting?.reason)?.state?.waiting?.reason ??
      null,
    lastTermination: lastTerminations[0] ?? null,
    createdAt: iso(pod.metadata?.creationTimestamp),
  };
}

function toWorkload(workload: ReplicatedWorkload): StoreWorkload {
  const ready = workload.status?.readyReplicas ?? 0;
  return {
    kind: workload.kind as StoreWorkload['kind'],
    name: workload.metadata!.name!,
    desiredReplicas: workload.spec?.replicas ?? 1,
    readyReplicas: ready,
    // A StatefulSet's availableReplicas needs minReadySeconds support; ready is what it has.
    availableReplicas:
      workload.kind === 'StatefulSet'
        ? workload.status?.availableReplicas ?? ready
        : workload.status?.availableReplicas ?? 0,
  };
}

function toVolumeClaim(claim: V1PersistentVolumeClaim): StoreVolumeClaim {
  return {
    name: claim.metadata!.name!,
    phase: claim.status?.phase ?? 'Pending',
    requested: claim.spec?.resources?.requests?.storage ?? null,
    capacity: claim.status?.capacity?.storage ?? null,
    storageClass: claim.spec?.storageClassName ?? null,
    usedBytes: null,
  };
}

const byName = <T extends { name: string }>(a: T, b: T) =>
  a.name.localeCompare(b.name);

/** Reads what runs in a store's namespace: pods, Deployments/StatefulSets, volume claims. */
export async function readStoreWorkloads(
  kube: KubernetesClient,
  namespace: string,
): Promise<StoreWorkloads> {
  // One after the other: a failing call ends the read, with no calls left running behind it.
  const pods = await kube.list<V1Pod>('v1', 'Pod', namespace);
  const deployments = await kube.list<ReplicatedWorkload>(
    'apps/v1',
    'Deployment',
    namespace,
  );
  const statefulSets = await kube.list<ReplicatedWorkload>(
    'apps/v1',
    'StatefulSet',
    namespace,
  );
  const claims = await kube.list<V1PersistentVolumeClaim>(
    'v1',
    'PersistentVolumeClaim',
    namespace,
  );
  return {
    namespace,
    pods: pods.map(toPod).sort(byName),
    // List items carry no kind.
    workloads: [
      ...deployments.map(d => toWorkload({ ...d, kind: 'Deployment' })),
      ...statefulSets.map(s => toWorkload({ ...s, kind: 'StatefulSet' })),
    ],
    volumeClaims: claims.map(toVolumeClaim).sort(byName),
    usageNote: VOLUME_USAGE_NOTE,
  };
}
