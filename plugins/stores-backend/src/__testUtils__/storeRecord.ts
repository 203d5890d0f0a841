import { newStoreRecord } from '../database/newStoreRecord';
import { StoreRecord } from '../database/StoreRepository';

/** A new store's row for repository and loop tests (team-a's, asked for by ann), with overrides. */
export function storeRecord(
  id: string,
  overrides: Partial<StoreRecord> = {},
  now: number = Date.now(),
): StoreRecord {
  return {
    ...newStoreRecord(
      {
        id,
        name: id,
        description: null,
        owner: 'group:default/team-a',
        createdBy: 'user:default/ann',
        engine: 'woocommerce',
        plan: 'small',
      },
      now,
    ),
    ...overrides,
  };
}
