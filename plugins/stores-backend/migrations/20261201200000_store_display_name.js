// @ts-check

/**
 * The name people see, separate from the DNS-safe name that is part of the store's id and
 * namespace (which never change). Null: the store was never renamed, it shows its name.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('stores', table => {
    table
      .string('display_name', 100)
      .nullable()
      .comment('Name shown to people; null: the name');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('stores', table => {
    table.dropColumn('display_name');
  });
};
