import { Entity } from '@backstage/catalog-model';
import { PermissionApi } from '@backstage/plugin-permission-react';
import { STORE_ID } from '@internal/stores-test-utils/store';
import {
  STORE_ID_ANNOTATION,
  StoreEvent,
  StoreUsage,
  StoreWorkloads,
} from '@storeplane/plugin-stores-common';

export function makeEvent(
  id: number,
  minutesAgo: number,
  overrides: Partial<StoreEvent> = {},
): StoreEvent {
  return {
    id,
    storeId: STORE_ID,
    createdAt: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
    type: 'step.completed',
    level: 'info',
    message: `event ${id}`,
    actor: null,
    ...overrides,
  };
}

export const storeEntity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Resource',
  metadata: {
    name: `store-${STORE_ID}`,
    namespace: 'default',
    annotations: { [STORE_ID_ANNOTATION]: STORE_ID },
  },
  spec: { type: 'woocommerce-store', owner: 'group:default/team-a' },
};

type AuthorizeResponse = Awaited<ReturnType<PermissionApi['authorize']>>;

/** A permission API that allows exactly the named permissions and records what was asked. */
export function permissionApiAllowing(allowed: string[]) {
  const requests: { permission: string; resourceRef?: string }[] = [];
  const api: PermissionApi = {
    async authorize(request) {
      const resourceRef = (request as { resourceRef?: string }).resourceRef;
      requests.push({ permission: request.permission.name, resourceRef });
      return {
        result: allowed.includes(request.permission.name) ? 'ALLOW' : 'DENY',
      } as AuthorizeResponse;
    },
  };
  return { api, requests };
}

export const ALL_STORE_PERMISSIONS = [
  'storeplane.store.read',
  'storeplane.store.delete',
  'storeplane.store.retry',
  'storeplane.store.update',
  'storeplane.store.credentials.read',
  'storeplane.store.content.suggest',
  'storeplane.store.backup',
  'storeplane.store.restore',
];

/** What `GET /stores/:id/workloads` answers for a running store. */
export function makeWorkloads(
  overrides: Partial<StoreWorkloads> = {},
): StoreWorkloads {
  return {
    namespace: `store-${STORE_ID}`,
    pods: [
      {
        name: 'woocommerce-wordpress-7d9f-x2',
        phase: 'Running',
        ready: true,
        restarts: 0,
        waitingReason: null,
        lastTermination: null,
        createdAt: new Date().toISOString(),
      },
    ],
    workloads: [
      {
        kind: 'Deployment',
        name: 'woocommerce-wordpress',
        desiredReplicas: 1,
        readyReplicas: 1,
        availableReplicas: 1,
      },
    ],
    volumeClaims: [
      {
        name: 'woocommerce-wordpress',
        phase: 'Bound',
        requested: '2Gi',
        capacity: '2Gi',
        storageClass: 'standard',
        usedBytes: null,
      },
    ],
    usageNote: 'Volume usage is not shown.',
    ...overrides,
  };
}

/** A store's quota use as GET /stores/:id/usage answers it: half the CPU quota in use, prices in EUR. */
export function makeUsage(overrides: Partial<StoreUsage> = {}): StoreUsage {
  return {
    namespace: `store-${STORE_ID}`,
    plan: 'small',
    resources: [
      {
        resource: 'cpu',
        quotaKey: 'requests.cpu',
        unit: 'cores',
        hard: '1',
        used: '500m',
        hardAmount: 1,
        usedAmount: 0.5,
      },
      {
        resource: 'memory',
        quotaKey: 'requests.memory',
        unit: 'bytes',
        hard: '2Gi',
        used: '768Mi',
        hardAmount: 2 * 1024 ** 3,
        usedAmount: 768 * 1024 ** 2,
      },
      {
        resource: 'storage',
        quotaKey: 'requests.storage',
        unit: 'bytes',
        hard: '10Gi',
        used: '10Gi',
        hardAmount: 10 * 1024 ** 3,
        usedAmount: 10 * 1024 ** 3,
      },
      {
        resource: 'pods',
        quotaKey: 'pods',
        unit: 'pods',
        hard: '10',
        used: '3',
        hardAmount: 10,
        usedAmount: 3,
      },
    ],
    cost: { currency: 'EUR', planMonthly: 21.5, actualMonthly: 14.25 },
    note: null,
    ...overrides,
  };
}
