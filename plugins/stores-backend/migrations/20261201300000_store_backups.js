// @ts-check

/**
 * Backups of a store's database: one row per requested backup, its outcome and the file it
 * wrote on the store's backups volume. Rows go with their store (see deleteClaimedStore).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('store_backups', table => {
    table.comment('Database backups of stores and their outcomes');
    table.string('id', 64).primary().notNullable();
    table.string('store_id', 64).notNullable();
    table
      .string('status', 16)
      .notNullable()
      .comment('Pending, Running, Succeeded or Failed');
    table.string('requested_by', 255).notNullable();
    table
      .string('file', 255)
      .notNullable()
      .comment("Path of the dump on the store's backups volume");
    table.bigInteger('size_bytes').nullable();
    table.text('message').nullable();
    table.bigInteger('created_at').notNullable();
    table.bigInteger('started_at').nullable();
    table.bigInteger('finished_at').nullable();
    table.index(['store_id', 'created_at'], 'store_backups_store_created_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('store_backups');
};
