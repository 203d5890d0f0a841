import { Entity } from '@backstage/catalog-model';
import { STORE_ID_ANNOTATION } from '@storeplane/plugin-stores-common';

/** True when the entity is a store's entity, i.e. it names the store it stands for. */
export function isStoreAvailable(entity: Entity): boolean {
  return Boolean(entity.metadata.annotations?.[STORE_ID_ANNOTATION]);
}

export function getStoreId(entity: Entity): string | undefined {
  return entity.metadata.annotations?.[STORE_ID_ANNOTATION] || undefined;
}
