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
