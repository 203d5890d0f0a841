/**
 * Test helpers for packages that run the stores plugin in their tests.
 *
 * @packageDocumentation
 */
export {
  FakeKubernetesApi,
  FAKE_KUBE_SERVER,
  FAKE_HEALTH_BASE,
} from './FakeKubernetesApi';
export type { InjectedFault } from './FakeKubernetesApi';
export { testConfigData } from './harness';
export { authWithActorsServiceFactory } from './authWithActors';
