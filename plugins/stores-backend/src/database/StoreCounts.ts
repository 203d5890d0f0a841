import { StoreStatus } from '@storeplane/plugin-stores-common';
import { Knex } from 'knex';

/** Stores of one owner, engine and plan. */
export interface StorePlanCount {
  owner: string;
  engine: string;
  plan: string;
  count: number;
}

/**
 * Store totals per owner, engine, plan and status, kept by the database: triggers on `stores`
 * append every change to `store_count_changes` (see the `store_counts` migration), and
 * {@link StoreCounts.fold} moves those changes into `store_counts`. A count adds both up, so it
 * is exact whenever it runs, and reads as many rows as there are groups and unfolded changes, not
 * stores.
 */
export class StoreCounts {
  constructor(private readonly db: Knex) {}

  /** Stores per owner, engine and plan (of one owner, in one status, if given), by owner. */
  async countByOwnerAndPlan(filter: {
    owner?: string;
    status?: StoreStatus;
  }): Promise<StorePlanCount[]> {
    const part = (table: string, count: string) => {
      const query = this.db(table).select(
        'owner',
        'engine',
        'plan',
        this.db.ref(count).as('stores'),
      );
      if (filter.owner) query.where('owner', filter.owner);
      if (filter.status) query.where('status', filter.status);
      return query;
    };
    const rows = (await this.db
      .from(
        part('store_counts', 'stores')
          .unionAll(part('store_count_changes', 'change'))
          .as('counted'),
      )
      .select('owner', 'engine', 'plan')
      .sum({ count: 'stores' })
      .groupBy('owner', 'engine', 'plan')
      .having(this.db.raw('sum(stores)'), '>', 0)
      .orderBy(['owner', 'engine', 'plan'])) as Array<
      Omit<StorePlanCount, 'count'> & { count: string | number }
    >;
    // PostgreSQL returns the sum of a bigint as a string (numeric).
    return rows.map(row => ({ ...row, count: Number(row.count) }));
  }

  /**
   * Moves the changes appended so far into the totals, in one transaction, and drops groups
   * left empty. Safe beside writers and beside another fold: only changes it removed are added.
   */
  async fold(): Promise<void> {
    await this.db.transaction(async tx => {
      if (tx.client.config.client === 'pg') {
        // Changes committed while this runs are not deleted, so they wait for the next fold.
        await tx.raw(`
          with folded as (
            delete from store_count_changes returning owner, engine, plan, status, change
          )
          insert into store_counts (owner, engine, plan, status, stores)
          select owner, engine, plan, status, sum(change) from folded
          group by owner, engine, plan, status
          order by owner, engine, plan, status
          on conflict (owner, engine, plan, status)
          do update set stores = store_counts.stores + excluded.stores`);
      } else {
        // SQLite has one writer: nothing is appended between these statements.
        const last = (
          await tx('store_count_changes').max({ last: 'id' }).first()
        )?.last;
        if (last === null || last === undefined) return;
        await tx.raw(
          `insert into store_counts (owner, engine, plan, status, stores)
           select owner, engine, plan, status, sum(change) from store_count_changes
           where id <= ? group by owner, engine, plan, status
           on conflict (owner, engine, plan, status)
           do update set stores = store_counts.stores + excluded.stores`,
          [last],
        );
        await tx('store_count_changes').where('id', '<=', last).delete();
      }
      await tx('store_counts').where('stores', 0).delete();
    });
  }
}
