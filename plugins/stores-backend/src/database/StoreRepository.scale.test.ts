import { Knex } from 'knex';
import { migrateDatabase } from './migrateDatabase';
import { COUNTED_PAST_OFFSET, StoreRepository } from './StoreRepository';
import { storeTestDatabases } from '../__testUtils__/databases';

const databases = storeTestDatabases();

const STORES = 10_000;
// Many owners, as in a company: one owner's stores are a small share of all.
const OWNERS = 200;
const START = 1_700_000_000_000;
/** Tombstones of removed stores, as a month of deletions might leave. */
const REMOVED = 2_000;

/** Rows as the backend writes them: statuses, owners and creation times spread out. */
async function seed(knex: Knex) {
  const rows = Array.from({ length: STORES }, (_, i) => ({
    id: `s${String(i).padStart(5, '0')}`,
    name: `s${i}`,
    owner: `group:default/team-${i % OWNERS}`,
    created_by: `user:default/u${i % 50}`,
    engine: 'woocommerce',
    plan: 'small',
    desired_state: 'present',
    status: i % 100 === 0 ? 'Failed' : 'Ready',
    step: null,
    namespace: `store-s${i}`,
    generation: 1,
    attempts: 0,
    next_attempt_at: START + i,
    step_started_at: START + i,
    // Several stores share a creation time, so the id decides their order.
    created_at: START + Math.floor(i / 3),
    updated_at: START + i,
  }));
  await knex.batchInsert('stores', rows, 200);
  const events = Array.from({ length: STORES }, (_, i) => ({
    store_id: `s${String(i % 500).padStart(5, '0')}`,
    created_at: START + i,
    type: 'checked',
    level: 'info',
    message: 'x',
  }));
  await knex.batchInsert('store_events', events, 500);
  const removed = Array.from({ length: REMOVED }, (_, i) => ({
    id: `d${String(i).padStart(5, '0')}`,
    owner: `group:default/team-${i % OWNERS}`,
    created_by: `user:default/u${i % 50}`,
    deleted_at: START + i * 10,
  }));
  await knex.batchInsert('deleted_stores', removed, 500);
  await knex.raw('analyze');
}

/** Runs `read` and returns the plan of each SQL statement it sent, one line per plan node. */
async function plansOf(
  knex: Knex,
  read: () => Promise<unknown>,
): Promise<string[]> {
  const sent: Array<{ sql: string; bindings: readonly unknown[] }> = [];
  const listener = (query: { sql: string; bindings?: unknown[] }) =>
    sent.push({ sql: query.sql, bindings: query.bindings ?? [] });
  knex.on('query', listener);
  try {
    await read();
  } finally {
    knex.off('query', listener);
  }
  const postgres = knex.client.config.client === 'pg';
  const plans: string[] = [];
  for (const { sql, bindings } of sent) {
    if (postgres) {
      const result = await knex.raw(
        `explain ${sql.replace(/\$\d+/g, '?')}`,
        bindings as Knex.RawBinding[],
      );
      plans.push(
        result.rows
          .map((row: Record<string, string>) => row['QUERY PLAN'])
          .join('\n'),
      );
    } else {
      const rows = await knex.raw(
        `explain query plan ${sql}`,
        bindings as Knex.RawBinding[],
      );
      plans.push(rows.map((row: { detail: string }) => row.detail).join('\n'));
    }
  }
  return plans;
}

/**
 * A list page's plan, split into the page's own walk and the count that rides in its statement
 * (PostgreSQL: the InitPlan's subtree; SQLite: from the scalar subquery on).
 */
function splitPageAndCount(plan: string): { page: string; count: string } {
  const lines = plan.split('\n');
  const start = lines.findIndex(line => /InitPlan|SCALAR SUBQUERY/.test(line));
  if (start < 0) return { page: plan, count: '' };
  const indent = (line: string) => line.length - line.trimStart().length;
  let end = start + 1;
  while (end < lines.length && indent(lines[end]) > indent(lines[start])) end++;
  if (lines[start].includes('SCALAR SUBQUERY')) end = lines.length;
  return {
    page: [...lines.slice(0, start), ...lines.slice(end)].join('\n'),
    count: lines.slice(start, end).join('\n'),
  };
}

/** A plan that sorts (a temporary B-tree on SQLite, a Sort node on PostgreSQL). */
const SORTS = /TEMP B-TREE|Sort/;
/** A plan sorts nothing, or only the rows an index lookup found (never a whole table). */
const sortsOnlyLookedUpRows = (plan: string) =>
  !SORTS.test(plan) || /Index Cond/.test(plan);
/** A plan that reads a whole table. */
const FULL_SCAN = /Seq Scan|SCAN (stores|store_events)\b(?! USING)/;

describe.each(databases.eachSupportedId())(
  'StoreRepository with 10,000 stores on %s',
  databaseId => {
    let knex: Knex;
    let repository: StoreRepository;

    beforeAll(async () => {
      knex = await databases.init(databaseId);
      await migrateDatabase(knex);
      await seed(knex);
      repository = new StoreRepository(knex);
    }, 60_000);

    // SQLite always walks the index that starts with the filter's column. PostgreSQL chooses by
    // cost: a common status walks the list index and skips the rest; one owner's few stores are
    // looked up by an owner index (the list's or the cost count's) and those few sorted.
    // Neither reads or sorts every store.
    it.each([
      ['every store', {}],
      ['one status', { status: 'Ready' as const }],
      ['one status that is rare', { status: 'Failed' as const }],
      ['one owner', { owner: 'group:default/team-3' }],
    ])('reads a page of %s through an index', async (_, filter) => {
      const plans = await plansOf(knex, () =>
        repository.listStores({ ...filter, offset: 0, limit: 50 }),
      );
      // One statement: the count rides in the page's. It reads at most its LIMIT of matches,
      // in whatever order the database finds cheapest, so only the page's walk is checked.
      expect(plans).toHaveLength(1);
      const { page: plan, count } = splitPageAndCount(plans[0]);
      expect(count).not.toBe('');
      expect(plan).toMatch(
        /stores_(status_|owner_)?list_idx|stores_owner_plan_idx/,
      );
      expect(plan).not.toMatch(FULL_SCAN);
      expect(sortsOnlyLookedUpRows(plan)).toBe(true);
    });

    // A cursor deep in the list (store 5,000 of 10,000) starts the walk there, not at the top.
    it.each([
      ['every store', {}],
      ['one status', { status: 'Ready' as const }],
      ['one owner', { owner: 'group:default/team-3' }],
    ])(
      'reads a page of %s after a cursor through an index',
      async (_, filter) => {
        const after = { createdAt: START + 1666, id: 's05000' };
        const plans = await plansOf(knex, () =>
          repository.listStores({ ...filter, after, offset: 0, limit: 50 }),
        );
        expect(plans).toHaveLength(1);
        const { page: plan, count } = splitPageAndCount(plans[0]);
        expect(count).not.toBe('');
        expect(plan).toMatch(/stores_(status_|owner_)?list_idx/);
        expect(plan).not.toMatch(FULL_SCAN);
        expect(sortsOnlyLookedUpRows(plan)).toBe(true);
        // The cursor bounds the index range: the walk starts there.
        const boundedRange = databaseId.startsWith('SQLITE')
          ? /USING INDEX \S+ \(.*created_at<\?/
          : /Index Cond: .*created_at <= /;
        expect(plan).toMatch(boundedRange);
      },
    );

    // What the catalog's incremental sync asks every minute: the last few changes.
    it('reads the stores changed since a time, and removals since a time, through indexes', async () => {
      const [changedPlan] = await plansOf(knex, () =>
        repository.listChangedStores({
          since: START + STORES - 20,
          limit: 100,
        }),
      );
      expect(changedPlan).toContain('stores_updated_idx');
      expect(changedPlan).not.toMatch(FULL_SCAN);
      expect(changedPlan).not.toMatch(SORTS);
      const changed = await repository.listChangedStores({
        since: START + STORES - 20,
        limit: 100,
      });
      expect(changed.items).toHaveLength(20);
      const [laterPagePlan] = await plansOf(knex, () =>
        repository.listChangedStores({
          since: START + STORES - 20,
          after: { updatedAt: START + STORES - 10, id: 's09990' },
          limit: 100,
        }),
      );
      expect(laterPagePlan).toContain('stores_updated_idx');
      expect(laterPagePlan).not.toMatch(FULL_SCAN);

      const [removedPlan] = await plansOf(knex, () =>
        repository.listDeletedStores({
          since: START + (REMOVED - 20) * 10,
          limit: 100,
        }),
      );
      expect(removedPlan).toContain('deleted_stores_deleted_idx');
      expect(removedPlan).not.toMatch(
        /Seq Scan|SCAN deleted_stores\b(?! USING)/,
      );
      expect(sortsOnlyLookedUpRows(removedPlan)).toBe(true);
    });

    // GET /costs/by-owner without an access condition adds up the totals the database keeps
    // per owner, plan and status, and the changes not folded into them yet: a few rows per
    // owner, and no row or index entry of `stores`.
    it('counts every store per owner and plan from the kept totals, reading no store', async () => {
      await repository.foldStoreCounts();
      const [plan] = await plansOf(knex, () =>
        repository.countStoresByOwnerAndPlan({}),
      );
      expect(plan).toMatch(/store_counts/);
      expect(plan).toMatch(/store_count_changes/);
      expect(plan).not.toMatch(/\b(on|SCAN|SEARCH) stores\b|\bstores_\w+_idx/);
    });

    // Under an owner condition only the matching stores are looked up (and those few grouped).
    it('counts the stores an owner condition allows through indexes', async () => {
      const [plan] = await plansOf(knex, () =>
        repository.countStoresByOwnerAndPlan({
          access: { ownedBy: ['group:default/team-3', 'user:default/u7'] },
        }),
      );
      expect(plan).toMatch(/stores_owner_plan_idx/);
      expect(plan).not.toMatch(FULL_SCAN);
    });

    it('counts every store once per owner and plan, folded or not', async () => {
      const unfolded = await repository.countStoresByOwnerAndPlan({});
      await repository.foldStoreCounts();
      const counts = await repository.countStoresByOwnerAndPlan({});
      expect(counts).toEqual(unfolded);
      expect(counts).toHaveLength(OWNERS);
      expect(counts.reduce((sum, group) => sum + group.count, 0)).toBe(STORES);
      expect(counts[0]).toEqual({
        owner: 'group:default/team-0',
        engine: 'woocommerce',
        plan: 'small',
        count: STORES / OWNERS,
      });
    });

    it('pages by cursor through every store exactly once, in the list order', async () => {
      const byOffset = await repository.listStores({ offset: 0, limit: 200 });
      const seen: string[] = [];
      let after;
      for (;;) {
        const page = await repository.listStores({
          after,
          offset: 0,
          limit: 200,
        });
        seen.push(...page.items.map(store => store.id));
        if (!page.next) break;
        after = page.next;
      }
      expect(seen).toHaveLength(STORES);
      expect(new Set(seen).size).toBe(STORES);
      expect(seen.slice(0, 200)).toEqual(byOffset.items.map(s => s.id));
      expect(byOffset.next).toEqual({
        createdAt: byOffset.items[199].createdAt,
        id: byOffset.items[199].id,
      });
    });

    // PostgreSQL may sort the few rows of the one store it found through the index.
    it('reads a store’s events through the index, never the whole table', async () => {
      const [plan] = await plansOf(knex, () =>
        repository.listEvents('s00007', 50),
      );
      expect(plan).toContain('store_events_store_idx');
      expect(plan).not.toMatch(FULL_SCAN);
      const [pagePlan] = await plansOf(knex, () =>
        repository.listEventPage('s00007', { limit: 5, beforeId: 5_000 }),
      );
      expect(pagePlan).toContain('store_events_store_idx');
      expect(pagePlan).not.toMatch(FULL_SCAN);
    });

    it('pages a store’s events by id, newest first, each once', async () => {
      const first = await repository.listEventPage('s00007', { limit: 15 });
      const second = await repository.listEventPage('s00007', {
        limit: 15,
        beforeId: first.nextBeforeId,
      });
      const ids = [...first.items, ...second.items].map(e => e.id);
      expect(ids).toHaveLength(20);
      expect([...ids].sort((a, b) => b - a)).toEqual(ids);
      expect(first.nextBeforeId).toBe(first.items[14].id);
      expect(second.nextBeforeId).toBeUndefined();
    });

    it('pages in the documented order: newest first, then by id', async () => {
      const first = await repository.listStores({ offset: 0, limit: 4 });
      expect(first.items.map(s => s.id)).toEqual([
        's09999',
        's09996',
        's09997',
        's09998',
      ]);
    });

    it('counts at most a bounded number of stores past the offset', async () => {
      const first = await repository.listStores({ offset: 0, limit: 50 });
      expect(first).toMatchObject({
        totalCount: COUNTED_PAST_OFFSET,
        totalCountCapped: true,
      });
      const middle = await repository.listStores({ offset: 5_000, limit: 50 });
      expect(middle).toMatchObject({
        totalCount: 5_000 + COUNTED_PAST_OFFSET,
        totalCountCapped: true,
      });
      const nearEnd = await repository.listStores({
        offset: 9_500,
        limit: 200,
      });
      expect(nearEnd).toMatchObject({
        totalCount: STORES,
        totalCountCapped: false,
      });
      const last = await repository.listStores({ offset: 9_990, limit: 50 });
      expect(last.items).toHaveLength(10);
      expect(last).toMatchObject({
        totalCount: STORES,
        totalCountCapped: false,
      });
      const past = await repository.listStores({ offset: 20_000, limit: 50 });
      expect(past).toMatchObject({
        items: [],
        totalCount: STORES,
        totalCountCapped: false,
      });
      const failed = await repository.listStores({
        status: 'Failed',
        offset: 0,
        limit: 50,
      });
      expect(failed).toMatchObject({
        totalCount: 100,
        totalCountCapped: false,
      });
    });
  },
);
