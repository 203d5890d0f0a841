// @ts-check

/**
 * Indexes in the list's order (`created_at desc, id`), alone and after each equality filter
 * the list takes (status, owner), so a page reads its rows in index order instead of sorting
 * every matching store. The owner index replaces `stores_owner_idx`, whose column it starts with.
 * Events are read per store newest first through `store_events_store_idx` (store_id, id).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.raw(
    'create index stores_list_idx on stores (created_at desc, id)',
  );
  await knex.raw(
    'create index stores_status_list_idx on stores (status, created_at desc, id)',
  );
  await knex.raw(
    'create index stores_owner_list_idx on stores (owner, created_at desc, id)',
  );
  await knex.schema.alterTable('stores', table => {
    table.dropIndex(['owner'], 'stores_owner_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('stores', table => {
    table.index(['owner'], 'stores_owner_idx');
  });
  await knex.raw('drop index stores_owner_list_idx');
  await knex.raw('drop index stores_status_list_idx');
  await knex.raw('drop index stores_list_idx');
};
