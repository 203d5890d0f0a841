import { Knex } from 'knex';
import { databaseClock } from './databaseClock';

/**
 * A repository that stamps rows with the database's clock (shifted in tests), so that every
 * replica's writes use one clock.
 */
export abstract class ClockedRepository {
  constructor(
    protected readonly db: Knex,
    private readonly clockShiftMs: () => number = () => 0,
  ) {}

  protected clock(): Knex.Raw {
    return databaseClock(this.db, this.clockShiftMs());
  }
}
