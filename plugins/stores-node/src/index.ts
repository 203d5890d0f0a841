/**
 * Node library of Storeplane: what the stores backend and backend modules of other plugins
 * (such as the Kubernetes module) share, so they read `storeplane.*` the same way.
 *
 * @packageDocumentation
 */
export { SettingsReader, StoresConfigError } from './config/SettingsReader';
export {
  readKubernetesSettings,
  type KubernetesSettings,
} from './config/readKubernetesSettings';
export {
  CONFIGURE_CLUSTER_ADVICE,
  describeKubeConfig,
  loadKubeConfig,
  NoClusterConfiguredError,
} from './kubernetes/loadKubeConfig';
