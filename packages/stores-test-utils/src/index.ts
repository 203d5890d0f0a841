/**
 * Test helpers shared by the Storeplane packages' own tests: an msw stand-in for the
 * Kubernetes API and the stores plugin's test settings. Not published.
 *
 * @packageDocumentation
 */
export {
  FakeKubernetesApi,
  FAKE_KUBE_SERVER,
  FAKE_HEALTH_BASE,
} from './FakeKubernetesApi';
export type {
  FakeKubernetesApiOptions,
  InjectedFault,
} from './FakeKubernetesApi';
export { answerOverHttp } from './answerOverHttp';
export { testConfigData } from './testConfig';
export { authWithActorsServiceFactory } from './authWithActors';
export { withoutKubeconfig } from './withoutKubeconfig';
export { storeTestDatabases } from './storeTestDatabases';
export { waitFor } from './waitFor';
