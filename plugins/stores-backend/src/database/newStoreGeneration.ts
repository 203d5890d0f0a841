import { Knex } from 'knex';

/**
 * The `stores` columns that record a new intent for a store, written with its status and step:
 * a new generation, so a worker holding a claim on the old one can no longer write; a fresh
 * attempt count, no error and a new step clock; due now, so a worker takes it up at once.
 * `updatedAt` is the change's time when the caller has its own (the service's clock).
 */
export function newStoreGeneration(
  db: Knex,
  now: Knex.Raw,
  updatedAt: Knex.Raw | number = now,
) {
  return {
    generation: db.raw('generation + 1'),
    attempts: 0,
    last_error: null as string | null,
    next_attempt_at: now,
    step_started_at: now,
    updated_at: updatedAt,
  };
}
