import { Entity } from '@backstage/catalog-model';
import {
  KubernetesServiceLocator,
  ServiceLocatorRequestContext,
} from '@backstage/plugin-kubernetes-node';
import { STORE_ID_ANNOTATION } from '@storeplane/plugin-stores-common';
import { STOREPLANE_CLUSTER_NAME } from './StoreplaneClusterSupplier';

/**
 * Looks for a store entity's objects in the stores' cluster only, and for every other
 * entity's in the other clusters only: Storeplane's identity may read store namespaces and
 * nothing else, so asking it about other entities would only show permission errors.
 *
 * @public
 */
export class StoresServiceLocator implements KubernetesServiceLocator {
  constructor(private readonly locator: KubernetesServiceLocator) {}

  async getClustersByEntity(
    entity: Entity,
    requestContext: ServiceLocatorRequestContext,
  ) {
    const isStore = Boolean(entity.metadata.annotations?.[STORE_ID_ANNOTATION]);
    const { clusters } = await this.locator.getClustersByEntity(
      entity,
      requestContext,
    );
    return {
      clusters: clusters.filter(
        cluster => (cluster.name === STOREPLANE_CLUSTER_NAME) === isStore,
      ),
    };
  }
}
