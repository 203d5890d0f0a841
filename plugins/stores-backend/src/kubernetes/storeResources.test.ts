import { backupReaderPodManifest } from './backupReader';
import { ConfigReader } from '@backstage/config';
import { readStoresConfig } from '../config/readStoresConfig';
import { parseQuantity } from '../engines/quantity';
import { ResourceBudget } from '../engines/types';
import { createWooCommerceEngine } from '../engines/woocommerceEngine';
import {
  helmJobManifest,
  limitRangeManifest,
  resourceQuotaManifest,
} from './storeResources';

const store = {
  id: 'shop-x1y2z',
  namespace: 'store-shop-x1y2z',
  owner: 'group:default/shop-team',
  engine: 'woocommerce',
  plan: 'small',
};
const MiB = 1024 ** 2;
const engineBudget: ResourceBudget = {
  requestsCpu: 1,
  requestsMemory: 1024 * MiB,
  limitsCpu: 2,
  limitsMemory: 2048 * MiB,
  storage: 4096 * MiB,
  persistentVolumeClaims: 2,
  pods: 3,
  maxContainerCpu: 0.25,
  maxContainerMemory: 128 * MiB,
};

describe('store namespace quota and limits', () => {
  // The container the Helm Job really runs, as the reconciler creates it.
  const helmContainer = (
    helmJobManifest({
      store,
      engine: createWooCommerceEngine({ chartPath: '/unused' }),
      operation: 'install',
      generation: 1,
      helm: readStoresConfig(new ConfigReader({})).helm,
    }) as any
  ).spec.template.spec.containers[0].resources;

  // The container the backup reader really runs.
  const readerContainer = (
    backupReaderPodManifest({
      store,
      image: 'busybox:1.37',
      runAsUser: 999,
    }) as any
  ).spec.containers[0].resources;

  it("admits the engine's release, the Helm Job and the backup reader beside it", () => {
    const hard = (resourceQuotaManifest(store, engineBudget) as any).spec.hard;
    const q = (key: string) => parseQuantity(hard[key]);
    const own = (of: 'requests' | 'limits', key: 'cpu' | 'memory') =>
      parseQuantity(helmContainer[of][key]) +
      parseQuantity(readerContainer[of][key]);
    expect(q('requests.cpu')).toBeCloseTo(1 + own('requests', 'cpu'));
    expect(q('requests.memory')).toBe(1024 * MiB + own('requests', 'memory'));
    expect(q('limits.cpu')).toBeCloseTo(2 + own('limits', 'cpu'));
    expect(q('limits.memory')).toBe(2048 * MiB + own('limits', 'memory'));
    expect(hard.pods).toBe('5');
    expect(hard.persistentvolumeclaims).toBe('2');
    expect(q('requests.storage')).toBe(4096 * MiB);
  });

  it("lets the Helm Job's container through the LimitRange even when the engine's are smaller", () => {
    const [container] = (limitRangeManifest(store, engineBudget) as any).spec
      .limits;
    expect(parseQuantity(container.max.cpu)).toBe(
      parseQuantity(helmContainer.limits.cpu),
    );
    expect(parseQuantity(container.max.memory)).toBe(
      parseQuantity(helmContainer.limits.memory),
    );
    const big = { ...engineBudget, maxContainerCpu: 4 };
    expect((limitRangeManifest(store, big) as any).spec.limits[0].max.cpu).toBe(
      '4',
    );
  });
});
