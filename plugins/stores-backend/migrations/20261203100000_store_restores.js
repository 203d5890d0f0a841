// @ts-check

/**
 * Restores of a store's database from one of its backups: one row per request, its outcome.
 * While one runs its store is Restoring. Rows go with their store (see deleteClaimedStore).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('store_restores', table => {
    table.comment('Restores of stores from their backups and their outcomes');
    table.string('id', 64).primary().notNullable();
    table.string('store_id', 64).notNullable();
    table.string('backup_id', 64).notNullable();
    table
      .string('status', 16)
      .notNullable()
      .comment('Running, Succeeded or Failed');
    table.string('requested_by', 255).notNullable();
    table.text('message').nullable();
    table.bigInteger('created_at').notNullable();
    table
      .bigInteger('job_started_at')
      .nullable()
      .comment('When the reconciler created the restore Job');
    table.bigInteger('finished_at').nullable();
    table.index(['store_id', 'created_at'], 'store_restores_store_created_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('store_restores');
};
