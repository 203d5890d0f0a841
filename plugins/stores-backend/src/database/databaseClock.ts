import { Knex } from 'knex';

/**
 * The database's clock in epoch milliseconds as an SQL expression (PostgreSQL
 * `clock_timestamp()`, SQLite `julianday('now')`), moved by `shiftMs` (tests only), so that
 * replicas whose own clocks disagree still agree on leases and due times.
 */
export function databaseClock(db: Knex, shiftMs: number): Knex.Raw {
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
