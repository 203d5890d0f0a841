import { Knex } from 'knex';
import { storeTestDatabases } from '../__testUtils__/databases';
import {
  KEPT_STATEMENTS,
  reusePreparedStatements,
} from './reusePreparedStatements';

const databases = storeTestDatabases();

/**
 * The statements the driver prepares (better-sqlite3's Database.prepare). Spied on before the
 * first query, so the kept statements' own prepare goes through the spy.
 */
function countPrepares(knex: Knex) {
  return jest.spyOn(knex.client.driver.prototype, 'prepare');
}

async function sqliteWithItems() {
  const knex = await databases.init('SQLITE_3');
  const prepares = countPrepares(knex);
  reusePreparedStatements(knex);
  await knex.schema.createTable('items', table => {
    table.integer('id').primary();
    table.string('name').notNullable();
  });
  prepares.mockClear();
  return { knex, prepares };
}

afterEach(() => jest.restoreAllMocks());

describe('reusePreparedStatements', () => {
  it('prepares each SQL text once on SQLite, whatever its bindings, and reads and writes as before', async () => {
    const { knex, prepares } = await sqliteWithItems();

    for (let id = 1; id <= 20; id++)
      await knex('items').insert({ id, name: `item-${id}` });
    expect(prepares).toHaveBeenCalledTimes(1);

    const names = [];
    for (let id = 1; id <= 20; id++)
      names.push((await knex('items').where({ id }).first()).name);
    expect(names).toEqual(
      Array.from({ length: 20 }, (_, i) => `item-${i + 1}`),
    );
    expect(prepares).toHaveBeenCalledTimes(2);

    expect(await knex('items').where('id', '>', 10).update({ name: 'x' })).toBe(
      10,
    );
    expect(await knex('items').where('id', '>', 15).update({ name: 'y' })).toBe(
      5,
    );
    expect(await knex('items').where({ name: 'x' }).delete()).toBe(5);
    expect(await knex('items').count({ count: '*' })).toEqual([{ count: 15 }]);
  });

  it('reuses statements in transactions, which commit and roll back as before', async () => {
    const { knex, prepares } = await sqliteWithItems();
    await knex('items').insert({ id: 1, name: 'one' });
    const rename = (name: string) =>
      knex.transaction(async tx => {
        await tx('items').where({ id: 1 }).update({ name });
        if (name === 'rolled-back') throw new Error('abort');
      });

    await rename('first');
    prepares.mockClear();
    await rename('second');
    expect(prepares).not.toHaveBeenCalled();
    expect((await knex('items').where({ id: 1 }).first()).name).toBe('second');

    await expect(rename('rolled-back')).rejects.toThrow('abort');
    expect((await knex('items').where({ id: 1 }).first()).name).toBe('second');
  });

  it('reads the columns of a changed table and keeps the KEPT_STATEMENTS last used', async () => {
    const { knex, prepares } = await sqliteWithItems();
    await knex('items').insert({ id: 1, name: 'one' });
    expect(await knex('items').select('*')).toEqual([{ id: 1, name: 'one' }]);
    await knex.schema.alterTable('items', table => table.string('colour'));
    await knex('items').update({ colour: 'red' });
    expect(await knex('items').select('*')).toEqual([
      { id: 1, name: 'one', colour: 'red' },
    ]);

    // More different statements than are kept: each answers its own query, the least
    // recently used are prepared again, the latest are not.
    const statement = (n: number) => knex.select(knex.raw(`${n} as n`));
    for (let n = 0; n < KEPT_STATEMENTS + 50; n++)
      expect(await statement(n)).toEqual([{ n }]);
    prepares.mockClear();
    await statement(KEPT_STATEMENTS + 49);
    await statement(50);
    expect(prepares).not.toHaveBeenCalled();
    await statement(49);
    expect(prepares).toHaveBeenCalledTimes(1);
  });

  it("applies knex's safeIntegers option to its query only", async () => {
    const { knex } = await sqliteWithItems();
    await knex('items').insert({ id: 7, name: 'seven' });
    const query = () => knex('items').select('id').where({ id: 7 });
    expect(await query()).toEqual([{ id: 7 }]);
    expect(await query().options({ safeIntegers: true })).toEqual([
      { id: BigInt(7) },
    ]);
    expect(await query()).toEqual([{ id: 7 }]);
  });

  it.each(databases.eachSupportedId().filter(([id]) => id !== 'SQLITE_3'))(
    'leaves a %p client as it is',
    async databaseId => {
      const knex = await databases.init(databaseId);
      const acquireConnection = knex.client.acquireConnection;
      reusePreparedStatements(knex);
      expect(knex.client.acquireConnection).toBe(acquireConnection);
    },
  );
});
