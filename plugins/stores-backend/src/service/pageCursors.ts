import { InputError } from '@backstage/errors';
import { z } from 'zod';
import {
  DeletedStorePosition,
  StoreChangePosition,
  StoreListPosition,
} from '../database/StoreRepository';

// A cursor is base64url JSON naming the list it belongs to, so one list's cursor passed to
// another is refused rather than read as a position in it.
const storeListCursorSchema = z
  .object({
    list: z.literal('stores'),
    createdAt: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    id: z.string().min(1).max(100),
  })
  .strict();

const eventListCursorSchema = z
  .object({
    list: z.literal('events'),
    beforeId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  })
  .strict();

const changedStoreListCursorSchema = z
  .object({
    list: z.literal('changed-stores'),
    updatedAt: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    id: z.string().min(1).max(100),
  })
  .strict();

const deletedStoreListCursorSchema = z
  .object({
    list: z.literal('deleted-stores'),
    deletedAt: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    id: z.string().min(1).max(100),
  })
  .strict();

function encode(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decode<T>(cursor: string, schema: z.ZodType<T>): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const result = schema.safeParse(parsed);
  if (!result.success)
    throw new InputError(
      'Invalid cursor: pass the nextCursor of a previous page of this list unchanged',
    );
  return result.data;
}

/** The opaque `nextCursor` of a store list page. */
export function encodeStoreListCursor(position: StoreListPosition): string {
  return encode({ list: 'stores', ...position });
}

/** The position a store list `cursor` names; a 400 for anything else. */
export function decodeStoreListCursor(cursor: string): StoreListPosition {
  const { createdAt, id } = decode(cursor, storeListCursorSchema);
  return { createdAt, id };
}

/** The opaque `nextCursor` of an event list page. */
export function encodeEventListCursor(beforeId: number): string {
  return encode({ list: 'events', beforeId });
}

/** The event id an event list `cursor` pages below; a 400 for anything else. */
export function decodeEventListCursor(cursor: string): number {
  return decode(cursor, eventListCursorSchema).beforeId;
}

/** The opaque `nextCursor` of a page of removed stores. */
export function encodeDeletedStoreListCursor(
  position: DeletedStorePosition,
): string {
  return encode({ list: 'deleted-stores', ...position });
}

/** The position a removed-stores `cursor` names; a 400 for anything else. */
export function decodeDeletedStoreListCursor(
  cursor: string,
): DeletedStorePosition {
  const { deletedAt, id } = decode(cursor, deletedStoreListCursorSchema);
  return { deletedAt, id };
}

/** The opaque `nextCursor` of a page of changed stores (`updatedSince`). */
export function encodeChangedStoreListCursor(
  position: StoreChangePosition,
): string {
  return encode({ list: 'changed-stores', ...position });
}

/** The position a changed-stores `cursor` names; a 400 for anything else. */
export function decodeChangedStoreListCursor(
  cursor: string,
): StoreChangePosition {
  const { updatedAt, id } = decode(cursor, changedStoreListCursorSchema);
  return { updatedAt, id };
}
