/**
 * Store names become part of a Kubernetes namespace (`store-<name>-<suffix>`) and a catalog
 * entity name, so they must be DNS labels after normalisation.
 *
 * @public
 */
export const STORE_NAME_MIN_LENGTH = 3;
/**
 * The longest normalised store name, in characters.
 *
 * @public
 */
export const STORE_NAME_MAX_LENGTH = 30;
/**
 * The same rule as a JSON-schema/HTML pattern, for forms.
 *
 * @public
 */
export const STORE_NAME_PATTERN = '^[a-z]([-a-z0-9]*[a-z0-9])?$';

const storeNameRegExp = new RegExp(STORE_NAME_PATTERN);

/**
 * Trims, lowercases and turns whitespace and underscores into dashes.
 *
 * @public
 */
export function normalizeStoreName(raw: string): string {
  return raw
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, '-');
}

/**
 * Returns a plain-words problem with a normalised name, or undefined when it is valid.
 *
 * @public
 */
export function storeNameProblem(name: string): string | undefined {
  if (
    name.length < STORE_NAME_MIN_LENGTH ||
    name.length > STORE_NAME_MAX_LENGTH
  ) {
    return `Store name must be ${STORE_NAME_MIN_LENGTH} to ${STORE_NAME_MAX_LENGTH} characters long`;
  }
  if (!storeNameRegExp.test(name)) {
    return 'Store name may contain only lowercase letters, digits and dashes, must start with a letter and must not end with a dash';
  }
  if (name.includes('--')) {
    return 'Store name must not contain two dashes in a row';
  }
  return undefined;
}

/** Store ids are `<name>-<suffix>`: a DNS label that fits in a namespace name after `store-`. */
const storeIdRegExp = /^[a-z0-9]([-a-z0-9]{0,56}[a-z0-9])?$/;

/**
 * Whether a string can be a store id at all (checked before it reaches a database).
 *
 * @public
 */
export function isWellFormedStoreId(id: string): boolean {
  return storeIdRegExp.test(id);
}

/**
 * Namespace of a store; also the name of its catalog entity.
 *
 * @public
 */
export function storeNamespace(storeId: string): string {
  return `store-${storeId}`;
}

/**
 * Label that Backstage's Kubernetes plugin selects a catalog entity's objects by; every
 * workload and pod of a store carries it, with the value its entity annotates.
 *
 * @public
 */
export const KUBERNETES_ID_LABEL = 'backstage.io/kubernetes-id';

/**
 * The `backstage.io/kubernetes-id` of a store: its namespace, like its entity name.
 *
 * @public
 */
export function storeKubernetesId(storeId: string): string {
  return storeNamespace(storeId);
}

/**
 * The catalog entity ref of a store's Resource entity.
 *
 * @public
 */
export function storeEntityRef(storeId: string): string {
  return `resource:default/${storeNamespace(storeId)}`;
}

/**
 * The store id in a permission resource ref or list filter: accepts the id itself or the
 * store's entity ref (`resource:default/store-<id>`, as the frontend knows it).
 *
 * @public
 */
export function storeIdFromRef(ref: string): string {
  const match = /^resource:(?:default\/)?store-(.+)$/i.exec(ref.trim());
  return (match ? match[1] : ref.trim()).toLowerCase();
}

/**
 * Annotation that links a catalog entity to its store.
 *
 * @public
 */
export const STORE_ID_ANNOTATION = 'storeplane.io/store-id';
/**
 * `spec.type` of store entities.
 *
 * @public
 */
export const STORE_ENTITY_TYPE = 'woocommerce-store';
