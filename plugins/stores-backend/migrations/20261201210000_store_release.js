// @ts-check

/**
 * What a store's Helm release runs once it passed every gate, so a plan change or a chart
 * upgrade whose gates fail can return to it: the chart version, the Helm revision, the plan
 * it was sized for, and the generation (user intent) it reflects.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('stores', table => {
    table
      .string('chart_version', 64)
      .nullable()
      .comment('Chart version of the release that last passed every gate');
    table
      .integer('helm_revision')
      .nullable()
      .comment('Helm revision that last passed every gate');
    table
      .string('applied_plan', 63)
      .nullable()
      .comment('Plan of the release that last passed every gate');
    table
      .integer('observed_generation')
      .nullable()
      .comment('Generation the release that last passed every gate reflects');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('stores', table => {
    table.dropColumn('observed_generation');
    table.dropColumn('applied_plan');
    table.dropColumn('helm_revision');
    table.dropColumn('chart_version');
  });
};
