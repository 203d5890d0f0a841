// @ts-check

/**
 * Stores (desired state + what the reconciler observed), their events, and the
 * create-rate records that limit users across replicas.
 *
 * Times the reconciler compares (next attempt, lease expiry) are epoch milliseconds in
 * bigint columns, so the same comparisons work on SQLite and PostgreSQL.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('stores', table => {
    table.comment('WooCommerce stores requested through Storeplane');
    table.string('id', 64).primary().notNullable();
    table.string('name', 64).notNullable();
    table.text('description').nullable();
    table
      .string('owner', 255)
      .notNullable()
      .comment('Owning user or group entity ref');
    table
      .string('created_by', 255)
      .notNullable()
      .comment('User entity ref of the requester');
    table.string('engine', 63).notNullable();
    table.string('plan', 63).notNullable();
    table
      .string('desired_state', 16)
      .notNullable()
      .comment('present or absent');
    table.string('status', 16).notNullable();
    table.string('step', 32).nullable().comment('Next lifecycle step to run');
    table.string('namespace', 63).notNullable().unique();
    table.string('storefront_url', 512).nullable();
    table.string('admin_url', 512).nullable();
    table
      .integer('generation')
      .notNullable()
      .defaultTo(1)
      .comment('Bumped by every user mutation');
    table
      .integer('attempts')
      .notNullable()
      .defaultTo(0)
      .comment('Failed attempts of the current step');
    table.bigInteger('next_attempt_at').notNullable();
    table.bigInteger('step_started_at').notNullable();
    table.text('last_error').nullable();
    table.string('lease_holder', 255).nullable();
    table.bigInteger('lease_expires_at').nullable();
    table.bigInteger('created_at').notNullable();
    table.bigInteger('updated_at').notNullable();
    table.bigInteger('ready_at').nullable();
    table.index(['status', 'next_attempt_at'], 'stores_due_idx');
    table.index(['owner'], 'stores_owner_idx');
    table.index(['created_by'], 'stores_created_by_idx');
  });

  await knex.schema.createTable('store_events', table => {
    table.comment(
      'What happened to each store, kept after deletion for the audit period',
    );
    table.bigIncrements('id').primary();
    table.string('store_id', 64).notNullable();
    table.bigInteger('created_at').notNullable();
    table.string('type', 64).notNullable();
    table.string('level', 16).notNullable();
    table.text('message').notNullable();
    table.string('actor', 255).nullable();
    table.index(['store_id', 'id'], 'store_events_store_idx');
    table.index(['created_at'], 'store_events_created_idx');
  });

  await knex.schema.createTable('store_create_requests', table => {
    table.comment(
      'One row per accepted create, for the per-user create rate limit',
    );
    table.bigIncrements('id').primary();
    table.string('user_ref', 255).notNullable();
    table.bigInteger('created_at').notNullable();
    table.index(['user_ref', 'created_at'], 'store_create_requests_user_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('store_create_requests');
  await knex.schema.dropTable('store_events');
  await knex.schema.dropTable('stores');
};
