import { Knex } from 'knex';
import { databaseClock } from './databaseClock';
import type { StoreLeaseHold } from './BackupRepository';

/**
 * A repository of work done for a store (backups, restores): rows stamped with the database's
 * clock (shifted in tests), so every replica writes one clock, and changed only under the
 * store's lease, so a replica that lost it cannot overwrite what another recorded.
 */
export abstract class StoreWorkRepository {
  constructor(
    protected readonly db: Knex,
    private readonly clockShiftMs: () => number = () => 0,
  ) {}

  protected clock(): Knex.Raw {
    return databaseClock(this.db, this.clockShiftMs());
  }

  /** Narrows `query` to nothing unless `hold` still holds its store's lease. */
  protected whereLeaseHeld(query: Knex.QueryBuilder, hold: StoreLeaseHold) {
    return query.whereExists(
      this.db('stores')
        .select(this.db.raw('1'))
        .where({ id: hold.storeId, lease_holder: hold.token }),
    );
  }
}
