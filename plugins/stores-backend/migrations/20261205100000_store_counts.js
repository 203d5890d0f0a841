// @ts-check

/**
 * Store totals per owner, engine, plan and status, kept by the database itself, so
 * `GET /costs/by-owner` adds up a few hundred groups instead of counting every store.
 *
 * - `store_counts` holds the totals as of its last fold.
 * - Triggers on `stores` append each change to `store_count_changes` (+1 for a new store or
 *   a store's new group, -1 for a removed store or its old group) in the writer's own
 *   transaction. Writers only append, so no writer waits on a hot total row.
 * - `StoreCounts.fold` (a scheduled task) moves the changes into the totals.
 * - A count reads both tables.
 *
 * A later migration that rebuilds `stores` on SQLite (knex does, to drop or alter a column) drops
 * these triggers with the old table and must create them again: `StoreCounts.test.ts` fails
 * when a write is not counted.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('store_counts', table => {
    table.comment(
      'Stores per owner, engine, plan and status, as of the last fold',
    );
    table.string('owner', 255).notNullable();
    table.string('engine', 63).notNullable();
    table.string('plan', 63).notNullable();
    table.string('status', 16).notNullable();
    table.bigInteger('stores').notNullable();
    table.primary(['owner', 'engine', 'plan', 'status']);
  });
  await knex.schema.createTable('store_count_changes', table => {
    table.comment(
      'Changes to store_counts not folded in yet, written by triggers on stores',
    );
    table.bigIncrements('id').primary();
    table.string('owner', 255).notNullable();
    table.string('engine', 63).notNullable();
    table.string('plan', 63).notNullable();
    table.string('status', 16).notNullable();
    table.integer('change').notNullable();
  });

  if (knex.client.config.client === 'pg') {
    await knex.raw(`
      create function store_count_change() returns trigger language plpgsql as $$
      begin
        if tg_op in ('UPDATE', 'DELETE') then
          insert into store_count_changes (owner, engine, plan, status, change)
          values (old.owner, old.engine, old.plan, old.status, -1);
        end if;
        if tg_op in ('UPDATE', 'INSERT') then
          insert into store_count_changes (owner, engine, plan, status, change)
          values (new.owner, new.engine, new.plan, new.status, 1);
        end if;
        return null;
      end
      $$`);
    await knex.raw(`
      create trigger stores_counted_insert_delete after insert or delete on stores
      for each row execute function store_count_change()`);
    await knex.raw(`
      create trigger stores_counted_update after update of owner, engine, plan, status on stores
      for each row when (
        old.owner is distinct from new.owner or old.engine is distinct from new.engine or
        old.plan is distinct from new.plan or old.status is distinct from new.status
      ) execute function store_count_change()`);
  } else {
    await knex.raw(`
      create trigger stores_counted_insert after insert on stores begin
        insert into store_count_changes (owner, engine, plan, status, change)
        values (new.owner, new.engine, new.plan, new.status, 1);
      end`);
    await knex.raw(`
      create trigger stores_counted_delete after delete on stores begin
        insert into store_count_changes (owner, engine, plan, status, change)
        values (old.owner, old.engine, old.plan, old.status, -1);
      end`);
    await knex.raw(`
      create trigger stores_counted_update after update of owner, engine, plan, status on stores
      when old.owner is not new.owner or old.engine is not new.engine or
        old.plan is not new.plan or old.status is not new.status
      begin
        insert into store_count_changes (owner, engine, plan, status, change)
        values (old.owner, old.engine, old.plan, old.status, -1),
               (new.owner, new.engine, new.plan, new.status, 1);
      end`);
  }

  // The stores that exist already. Creating the triggers locked out writers of `stores` until
  // this migration commits (PostgreSQL; SQLite has one writer), so nothing is missed or counted
  // twice.
  await knex.raw(`
    insert into store_counts (owner, engine, plan, status, stores)
    select owner, engine, plan, status, count(*) from stores
    group by owner, engine, plan, status`);
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  if (knex.client.config.client === 'pg') {
    await knex.raw('drop trigger stores_counted_update on stores');
    await knex.raw('drop trigger stores_counted_insert_delete on stores');
    await knex.raw('drop function store_count_change()');
  } else {
    await knex.raw('drop trigger stores_counted_update');
    await knex.raw('drop trigger stores_counted_delete');
    await knex.raw('drop trigger stores_counted_insert');
  }
  await knex.schema.dropTable('store_count_changes');
  await knex.schema.dropTable('store_counts');
};
