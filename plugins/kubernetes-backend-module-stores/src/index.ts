/**
 * Kubernetes backend module of Storeplane: the stores' cluster on Backstage's Kubernetes tabs.
 *
 * @packageDocumentation
 */
export { kubernetesModuleStores as default } from './module';
export {
  StoreplaneClusterSupplier,
  STOREPLANE_CLUSTER_NAME,
} from './StoreplaneClusterSupplier';
export { StoresServiceLocator } from './StoresServiceLocator';
