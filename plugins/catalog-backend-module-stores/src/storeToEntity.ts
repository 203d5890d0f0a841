import {
  ANNOTATION_LOCATION,
  ANNOTATION_ORIGIN_LOCATION,
  Entity,
  EntityLink,
} from '@backstage/catalog-model';
import {
  isStoreProvisioned,
  escapeMarkdown,
  KUBERNETES_ID_LABEL,
  STORE_ENTITY_TYPE,
  STORE_ID_ANNOTATION,
  Store,
  storeKubernetesId,
  storeNamespace,
} from '@storeplane/plugin-stores-common';

/** The location every store entity claims to come from; stores have no YAML file. */
export const STORES_LOCATION = 'storeplane:stores';

/**
 * How stores become catalog entities.
 *
 * @public
 */
export interface StoreEntityOptions {
  /** `spec.system` of the entity. */
  system: string;
}

/**
 * The catalog `Resource` that represents a store. Its name is the store's namespace; its
 * Kubernetes annotations make the Kubernetes tab look in that namespace for objects labelled
 * with the store's kubernetes-id, which the stores backend puts on every workload and pod.
 *
 * @public
 */
export function storeToEntity(
  store: Store,
  options: StoreEntityOptions,
): Entity {
  const name = storeNamespace(store.id);
  const links = storeLinks(store);
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Resource',
    metadata: {
      name,
      title: store.displayName,
      // The About card renders descriptions as Markdown; a user's text shows as written and
      // never becomes a link, image or HTML.
      ...(store.description
        ? { description: escapeMarkdown(store.description) }
        : {}),
      annotations: {
        [STORE_ID_ANNOTATION]: store.id,
        [KUBERNETES_ID_LABEL]: storeKubernetesId(store.id),
        'backstage.io/kubernetes-namespace': name,
        [ANNOTATION_LOCATION]: STORES_LOCATION,
        [ANNOTATION_ORIGIN_LOCATION]: STORES_LOCATION,
      },
      labels: {
        'storeplane.io/status': store.status.toLocaleLowerCase('en-US'),
        'storeplane.io/plan': store.plan,
      },
      ...(links.length ? { links } : {}),
    },
    spec: {
      type: STORE_ENTITY_TYPE,
      owner: store.owner,
      system: options.system,
    },
  };
}

/**
 * Links only once the store passed its health check (Ready, or Degraded afterwards); before
 * that the URLs lead nowhere.
 */
function storeLinks(store: Store): EntityLink[] {
  if (!isStoreProvisioned(store.status)) return [];
  const links: EntityLink[] = [];
  if (store.storefrontUrl) {
    links.push({
      url: store.storefrontUrl,
      title: 'Storefront',
      type: 'storefront',
    });
  }
  if (store.adminUrl) {
    links.push({
      url: store.adminUrl,
      title: 'WordPress admin',
      type: 'admin',
      icon: 'dashboard',
    });
  }
  return links;
}
