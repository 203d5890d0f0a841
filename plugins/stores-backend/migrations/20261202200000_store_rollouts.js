// @ts-check

/**
 * Fleet rollouts: desired state for moving many stores to one chart version in waves
 * (issue 16). A rollout is leased like a store (lease holder + expiry on the database's clock,
 * a generation bumped by every operator command), so one replica advances it at a time and a
 * replica that dies mid-rollout is taken over once its lease expires.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('store_rollouts', table => {
    table.comment('Upgrades of many stores to one chart version, in waves');
    table.string('id', 64).primary().notNullable();
    table
      .string('status', 16)
      .notNullable()
      .comment('Pending, Running, Paused, Halted, Aborted or Succeeded');
    table.string('engine', 63).notNullable();
    table.string('target_chart_version', 64).notNullable();
    table.integer('wave_size').notNullable();
    table.bigInteger('pause_ms').notNullable();
    table.integer('max_failures').notNullable();
    table
      .integer('current_wave')
      .notNullable()
      .defaultTo(0)
      .comment('The wave started last; 0 before the first');
    table
      .integer('wave_count')
      .notNullable()
      .comment('Waves planned at creation (the canary wave is wave 1)');
    table
      .bigInteger('next_check_at')
      .nullable()
      .comment('When the engine looks again; null: nothing left to do');
    table
      .bigInteger('next_wave_at')
      .nullable()
      .comment(
        'When the next wave may start (the pause after a finished wave)',
      );
    table
      .integer('failure_baseline')
      .notNullable()
      .defaultTo(0)
      .comment(
        'Failed stores already counted when a halted rollout was resumed',
      );
    table.text('halt_reason').nullable();
    table.string('created_by', 255).notNullable();
    table
      .integer('generation')
      .notNullable()
      .defaultTo(1)
      .comment('Bumped by pause, resume and abort: fences a stale holder');
    table.string('lease_holder', 255).nullable();
    table.bigInteger('lease_expires_at').nullable();
    table.bigInteger('created_at').notNullable();
    table.bigInteger('updated_at').notNullable();
    table.index(['next_check_at'], 'store_rollouts_due_idx');
    table.index(['created_at', 'id'], 'store_rollouts_list_idx');
  });

  await knex.schema.createTable('store_rollout_items', table => {
    table.comment('One store of a rollout: its wave and its result');
    table.string('rollout_id', 64).notNullable();
    table.string('store_id', 64).notNullable();
    table.integer('wave').notNullable();
    table
      .string('result', 16)
      .notNullable()
      .comment('pending, upgrading, succeeded, failed or skipped');
    table.text('reason').nullable();
    table
      .string('from_chart_version', 64)
      .nullable()
      .comment('Chart version the store ran when its wave came');
    table
      .integer('upgrade_generation')
      .nullable()
      .comment('Store generation the upgrade request makes (intent first)');
    table.bigInteger('updated_at').notNullable();
    table.primary(['rollout_id', 'store_id']);
    table.index(['rollout_id', 'wave'], 'store_rollout_items_wave_idx');
  });

  await knex.schema.createTable('store_rollout_events', table => {
    table.comment('What happened to each rollout');
    table.bigIncrements('id').primary();
    table.string('rollout_id', 64).notNullable();
    table.bigInteger('created_at').notNullable();
    table.string('type', 64).notNullable();
    table.string('level', 16).notNullable();
    table.text('message').notNullable();
    table.string('actor', 255).nullable();
    table.index(['rollout_id', 'id'], 'store_rollout_events_rollout_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('store_rollout_events');
  await knex.schema.dropTable('store_rollout_items');
  await knex.schema.dropTable('store_rollouts');
};
