// @ts-check

/**
 * Who owned a deleted store, kept as long as its events (storeplane.events.retention), so
 * permission checks on `GET /stores/:id/events` still find the store's owner and creator
 * after the store row is gone.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('deleted_stores', table => {
    table.comment(
      'Owner and creator of removed stores, for reading their events during the audit period',
    );
    table.string('id', 64).primary().notNullable();
    table.string('owner', 255).notNullable();
    table.string('created_by', 255).notNullable();
    table.bigInteger('deleted_at').notNullable();
    table.index(['deleted_at'], 'deleted_stores_deleted_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('deleted_stores');
};
