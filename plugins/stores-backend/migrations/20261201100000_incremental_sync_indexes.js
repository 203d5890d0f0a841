// @ts-check

/**
 * Serve the catalog's incremental sync, which asks every minute for the few changes since its
 * last look: `GET /stores?updatedSince=` reads changes in their order (updated_at, id), and `GET /deleted-stores`
 * reads removals in their order (deleted_at, id) from the index instead of sorting them.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('stores', table => {
    table.index(['updated_at', 'id'], 'stores_updated_idx');
  });
  await knex.schema.alterTable('deleted_stores', table => {
    table.dropIndex(['deleted_at'], 'deleted_stores_deleted_idx');
    table.index(['deleted_at', 'id'], 'deleted_stores_deleted_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('deleted_stores', table => {
    table.dropIndex(['deleted_at', 'id'], 'deleted_stores_deleted_idx');
    table.index(['deleted_at'], 'deleted_stores_deleted_idx');
  });
  await knex.schema.alterTable('stores', table => {
    table.dropIndex(['updated_at', 'id'], 'stores_updated_idx');
  });
};
