import { FAKE_HEALTH_BASE } from './FakeKubernetesApi';

/** Test settings: tiny backoffs so retries happen within a test, the health gate on a stand-in URL. */
export function testConfigData(overrides: Record<string, unknown> = {}) {
  return {
    storeplane: {
      ingress: { baseDomain: 'stores.example.com' },
      domains: { ingressAddress: 'ingress.example.net' },
      healthCheck: {
        mode: 'url',
        urlTemplate: `${FAKE_HEALTH_BASE}/{namespace}`,
      },
      reconciler: {
        initialBackoff: { milliseconds: 1 },
        maxBackoff: { milliseconds: 2 },
        maxAttempts: 4,
        lease: { seconds: 60 },
      },
      limits: {
        maxActiveStoresPerUser: 100,
        maxActiveStoresPerOwner: 100,
        createRate: { count: 100, window: { seconds: 60 } },
      },
      plans: {
        small: {
          title: 'Small',
          cpu: '250m',
          memory: '256Mi',
          storage: '2Gi',
          replicas: 1,
        },
        large: {
          title: 'Large',
          cpu: '1',
          memory: '1Gi',
          storage: '10Gi',
          replicas: 2,
        },
      },
      ...overrides,
    },
  };
}
