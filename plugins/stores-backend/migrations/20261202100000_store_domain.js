// @ts-check

/**
 * A store's custom domain: the one its owner asks for (`domain`, unique across stores), the
 * one the release that last passed every gate serves (`applied_domain`, where a failed change
 * rolls back to), and what the DNS check last found.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('stores', table => {
    table
      .string('domain', 253)
      .nullable()
      .unique({ indexName: 'stores_domain_idx' })
      .comment('Custom domain the owner asked for, lower case');
    table
      .string('applied_domain', 253)
      .nullable()
      .comment('Custom domain of the release that last passed every gate');
    table
      .string('domain_status', 16)
      .nullable()
      .comment(
        'AwaitingDns or Active; null while no domain or its change runs',
      );
    table
      .bigInteger('domain_checked_at')
      .nullable()
      .comment('When the DNS check last ran (epoch ms)');
    table
      .text('domain_message')
      .nullable()
      .comment('What the DNS check or the change last said, in plain words');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('stores', table => {
    table.dropUnique(['domain'], 'stores_domain_idx');
    table.dropColumn('domain_message');
    table.dropColumn('domain_checked_at');
    table.dropColumn('domain_status');
    table.dropColumn('applied_domain');
    table.dropColumn('domain');
  });
};
