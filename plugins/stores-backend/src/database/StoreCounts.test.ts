import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { Knex } from 'knex';
import { storeTestDatabases } from '../__testUtils__/databases';
import { migrateDatabase } from './migrateDatabase';
import { StoreCounts, StorePlanCount } from './StoreCounts';

const databases = storeTestDatabases();
const migrationsDir = resolvePackagePath(
  '@storeplane/plugin-stores-backend',
  'migrations',
);

const OWNERS = ['group:default/a', 'group:default/b', 'user:default/c'];
const PLANS = ['small', 'medium'];
const STATUSES = ['Provisioning', 'Ready', 'Failed', 'Deleting'];

function storeRow(id: string, owner: string, plan: string, status: string) {
  return {
    id,
    name: id,
    owner,
    created_by: 'user:default/c',
    engine: 'woocommerce',
    plan,
    desired_state: 'present',
    status,
    namespace: `store-${id}`,
    generation: 1,
    attempts: 0,
    next_attempt_at: 0,
    step_started_at: 0,
    created_at: 0,
    updated_at: 0,
  };
}

/** What counting the stores themselves gives. */
async function countedFromStores(
  knex: Knex,
  filter: { owner?: string; status?: string } = {},
): Promise<StorePlanCount[]> {
  const query = knex('stores');
  if (filter.owner) query.where('owner', filter.owner);
  if (filter.status) query.where('status', filter.status);
  const rows = await query
    .select('owner', 'engine', 'plan')
    .count({ count: '*' })
    .groupBy('owner', 'engine', 'plan')
    .orderBy(['owner', 'engine', 'plan']);
  return rows.map(row => ({ ...row, count: Number(row.count) })) as any;
}

/** A small deterministic pseudo-random sequence (mulberry32). */
function randomSequence(seed: number) {
  let state = seed;
  return (below: number) => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * below);
  };
}

describe.each(databases.eachSupportedId())('StoreCounts on %p', databaseId => {
  let knex: Knex;
  let counts: StoreCounts;

  beforeEach(async () => {
    knex = await databases.init(databaseId);
    await migrateDatabase(knex);
    counts = new StoreCounts(knex);
  });

  async function expectCountsOfStores() {
    for (const filter of [
      {},
      { owner: OWNERS[1] },
      { status: 'Ready' },
      { owner: OWNERS[2], status: 'Failed' },
    ] as const) {
      expect(await counts.countByOwnerAndPlan(filter)).toEqual(
        await countedFromStores(knex, filter),
      );
    }
  }

  it('counts what the stores are through creates, moves between groups and removals, folded or not', async () => {
    const next = randomSequence(7);
    const live: string[] = [];
    for (let i = 0; i < 400; i++) {
      const action = next(10);
      const id = live[next(live.length || 1)];
      if (action < 3 || !id) {
        const created = `s${i}`;
        await knex('stores').insert(
          storeRow(created, OWNERS[next(3)], PLANS[next(2)], STATUSES[next(4)]),
        );
        live.push(created);
      } else if (action < 5) {
        await knex('stores')
          .where({ id })
          .update({ status: STATUSES[next(4)] });
      } else if (action === 5) {
        await knex('stores')
          .where({ id })
          .update({ owner: OWNERS[next(3)], plan: PLANS[next(2)] });
      } else if (action === 6) {
        // Writes that change no counted column leave the counts alone.
        await knex('stores')
          .where({ id })
          .update({ attempts: next(5), lease_holder: 'replica-1' });
      } else if (action === 7) {
        await knex('stores').where({ id }).delete();
        live.splice(live.indexOf(id), 1);
      } else {
        await counts.fold();
      }
      if (i % 40 === 0) await expectCountsOfStores();
    }
    await expectCountsOfStores();

    await counts.fold();
    expect(await knex('store_count_changes').count({ n: '*' })).toEqual([
      { n: databaseId.startsWith('POSTGRES') ? '0' : 0 },
    ]);
    expect(await knex('store_counts').where('stores', '<=', 0)).toEqual([]);
    await expectCountsOfStores();
  });

  it('counts the stores that existed before its migration, and its removal leaves them', async () => {
    await knex.migrate.down({ directory: migrationsDir });
    expect(await knex.schema.hasTable('store_counts')).toBe(false);
    await knex('stores').insert([
      storeRow('old-1', OWNERS[0], 'small', 'Ready'),
      storeRow('old-2', OWNERS[0], 'small', 'Ready'),
      storeRow('old-3', OWNERS[1], 'medium', 'Failed'),
    ]);
    await migrateDatabase(knex);
    await knex('stores').insert(
      storeRow('new-1', OWNERS[1], 'medium', 'Ready'),
    );

    expect(await counts.countByOwnerAndPlan({})).toEqual([
      { owner: OWNERS[0], engine: 'woocommerce', plan: 'small', count: 2 },
      { owner: OWNERS[1], engine: 'woocommerce', plan: 'medium', count: 2 },
    ]);
    await expectCountsOfStores();
  });

  if (databaseId.startsWith('POSTGRES')) {
    it('counts a change committed while a fold runs, once', async () => {
      await knex('stores').insert(
        storeRow('before', OWNERS[0], 'small', 'Ready'),
      );
      const writer = await knex.transaction();
      try {
        await writer('stores').insert(
          storeRow('during', OWNERS[0], 'small', 'Ready'),
        );
        // The writer's change is not committed: the fold neither waits for it nor takes it.
        await counts.fold();
        await writer.commit();
      } catch (error) {
        await writer.rollback();
        throw error;
      }
      expect(await counts.countByOwnerAndPlan({})).toEqual([
        { owner: OWNERS[0], engine: 'woocommerce', plan: 'small', count: 2 },
      ]);
      await counts.fold();
      expect(await knex('store_counts')).toEqual([
        {
          owner: OWNERS[0],
          engine: 'woocommerce',
          plan: 'small',
          status: 'Ready',
          stores: '2',
        },
      ]);
    });

    it('loses nothing when folds run beside many writers and beside each other', async () => {
      const writers = Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 25; i++) {
          const id = `w${w}-${i}`;
          await knex.transaction(async tx => {
            await tx('stores').insert(
              storeRow(id, OWNERS[(w + i) % 3], PLANS[i % 2], 'Provisioning'),
            );
          });
          await knex('stores').where({ id }).update({ status: 'Ready' });
          if (i % 5 === 0) await knex('stores').where({ id }).delete();
        }
      });
      let writing = true;
      const folders = Array.from({ length: 2 }, async () => {
        while (writing) await counts.fold();
      });
      await Promise.all(writers);
      writing = false;
      await Promise.all(folders);
      await counts.fold();

      expect(await counts.countByOwnerAndPlan({})).toEqual(
        await countedFromStores(knex),
      );
      const [{ total }] = await knex('store_counts').sum({ total: 'stores' });
      expect(Number(total)).toBe(8 * 20);
    });
  }
});
