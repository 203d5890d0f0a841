// @ts-check

/**
 * Serve `GET /costs/by-owner`, which counts every store the caller may list per owner, engine
 * and plan: an index in that order, holding the columns its filters read too (status, and
 * created_by for the owner policy's conditions), so the count walks one index in group order
 * and reads no row of the table. On SQLite, where that walk runs in the backend's process, it
 * used to read every store through `stores_owner_list_idx` and sort them all into groups.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('stores', table => {
    table.index(
      ['owner', 'engine', 'plan', 'status', 'created_by'],
      'stores_owner_plan_idx',
    );
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('stores', table => {
    table.dropIndex(
      ['owner', 'engine', 'plan', 'status', 'created_by'],
      'stores_owner_plan_idx',
    );
  });
};
