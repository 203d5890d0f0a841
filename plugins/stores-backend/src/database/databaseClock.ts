import { Knex } from 'knex';

/**
 * The database's clock in epoch milliseconds, as an SQL expression: PostgreSQL
 * `clock_timestamp()`, SQLite `julianday('now')` (the clock of the one process that opens the
 * file). `shiftMs` is a test seam that lets minutes pass at once; zero in production.
 */
export function databaseClock(db: Knex, shiftMs = 0): Knex.Raw {
  const shift = Math.round(shiftMs);
  return db.client.config.client === 'pg'
    ? db.raw(
        '(floor(extract(epoch from clock_timestamp()) * 1000)::bigint + ?::bigint)',
        [shift],
      )
    : db.raw(
        "(cast((julianday('now') - 2440587.5) * 86400000 as integer) + ?)",
        [shift],
      );
}
