import { Knex } from 'knex';

/**
 * Narrows a query ordered by `column` (then `id` ascending) to the rows after a page's last
 * row. The plain bound on `column` on its own bounds the index range; the rest drops the ties
 * already read.
 */
export function whereAfterPosition(
  query: Knex.QueryBuilder,
  column: string,
  order: 'asc' | 'desc',
  position: { value: number; id: string },
): Knex.QueryBuilder {
  const [bound, strictly] = order === 'asc' ? ['>=', '>'] : ['<=', '<'];
  return query
    .where(column, bound, position.value)
    .andWhere(q =>
      q.where(column, strictly, position.value).orWhere('id', '>', position.id),
    );
}

/**
 * Reads one page of `query` in keyset order (`column`, then `id` ascending): the rows after
 * `after`, and one row past `limit` to tell whether another page follows; `next` is the
 * position of the page's last item when one does.
 */
export async function readKeysetPage<T, P>(
  query: Knex.QueryBuilder,
  keyset: {
    column: string;
    order: 'asc' | 'desc';
    after?: { value: number; id: string };
    limit: number;
    select?: string[];
  },
  toItem: (row: any) => T,
  positionOf: (item: T) => P,
): Promise<{ items: T[]; next?: P }> {
  const { column, order, after, limit } = keyset;
  if (after) whereAfterPosition(query, column, order, after);
  const rows: any[] = await query
    .orderBy([
      { column, order },
      { column: 'id', order: 'asc' },
    ])
    .limit(limit + 1)
    .select(...(keyset.select ?? ['*']));
  const items = rows.slice(0, limit).map(toItem);
  return {
    items,
    next: rows.length > limit ? positionOf(items[items.length - 1]) : undefined,
  };
}
