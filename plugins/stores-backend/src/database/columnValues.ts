/** A nullable number column's value: PostgreSQL returns bigint columns as strings. */
export const toNumber = (value: unknown): number | null =>
  value === null || value === undefined ? null : Number(value);
