// @ts-check

/**
 * When the reconciler first worked on a store in a cluster. A store without it has nothing in
 * any cluster (it waited for one to be configured), so deleting it removes it at once.
 * Existing stores may have reached a cluster, so they count as having done so.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('stores', table => {
    table
      .bigInteger('reached_cluster_at')
      .nullable()
      .comment(
        'First time the reconciler worked on the store in a cluster; null: never',
      );
  });
  await knex('stores').update({ reached_cluster_at: knex.ref('created_at') });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('stores', table => {
    table.dropColumn('reached_cluster_at');
  });
};
