import { Entity } from '@backstage/catalog-model';
import { STORE_ID_ANNOTATION } from '@storeplane/plugin-stores-common';

/**
 * True for a store's entity: a catalog Resource that names its store in the
 * `storeplane.io/store-id` annotation (the alpha plugin's entity filter says the same).
 *
 * @public
 */
export function isStoreAvailable(entity: Entity): boolean {
  return (
    entity.kind.toLocaleLowerCase('en-US') === 'resource' &&
    getStoreId(entity) !== undefined
  );
}

export function getStoreId(entity: Entity): string | undefined {
  return entity.metadata.annotations?.[STORE_ID_ANNOTATION] || undefined;
}
