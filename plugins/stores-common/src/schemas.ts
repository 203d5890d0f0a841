import { z } from 'zod';
import { normalizeStoreName, storeNameProblem } from './naming';
import {
  ENTITY_REF_MAX_LENGTH,
  KEY_MAX_LENGTH,
  STORE_DESCRIPTION_MAX_LENGTH,
  STORE_NAME_INPUT_MAX_LENGTH,
  textProblem,
} from './textRules';
import { STORE_STATUSES, StoreStatus } from './types';

// Namespace and name as the catalog allows them (at most 63 characters each).
const entityRefPattern =
  /^(user|group):[a-z0-9][-a-z0-9_.]{0,62}\/[A-Za-z0-9][-A-Za-z0-9_.]{0,62}$/;

/**
 * A string that passes {@link textProblem}; later checks and transforms run only on clean
 * text, so a message never quotes a control character back.
 */
function cleanText(
  field: string,
  options: { maxLength: number; multiline?: boolean },
) {
  return z
    .string({
      error: issue =>
        issue.input === undefined
          ? `${field} is required`
          : `${field} must be a string`,
    })
    .check(ctx => {
      const problem = textProblem(ctx.value, options);
      if (problem) {
        ctx.issues.push({
          code: 'custom',
          message: `${field} ${problem}`,
          input: ctx.value,
          abort: true,
        });
      }
    });
}

/**
 * Validates and normalises a store's name (what the store id is made from).
 *
 * @public
 */
export const storeNameSchema = cleanText('name', {
  maxLength: STORE_NAME_INPUT_MAX_LENGTH,
})
  .transform(normalizeStoreName)
  .superRefine((name, ctx) => {
    const problem = storeNameProblem(name);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/**
 * A store owner's entity ref (user or group), trimmed and lower-cased.
 *
 * @public
 */
export const ownerRefSchema = cleanText('owner', {
  maxLength: ENTITY_REF_MAX_LENGTH,
})
  .trim()
  .transform(s => s.toLowerCase())
  .refine(ref => entityRefPattern.test(ref), {
    message:
      'owner must be a full user or group entity ref, e.g. group:default/team-a',
  });

/**
 * Body of `POST /stores`. Unknown fields are rejected.
 *
 * @public
 */
export const createStoreRequestSchema = z.strictObject({
  name: storeNameSchema,
  owner: ownerRefSchema,
  plan: cleanText('plan', { maxLength: KEY_MAX_LENGTH }).min(1).optional(),
  engine: cleanText('engine', { maxLength: KEY_MAX_LENGTH }).min(1).optional(),
  description: cleanText('description', {
    maxLength: STORE_DESCRIPTION_MAX_LENGTH,
    multiline: true,
  }).optional(),
});

/**
 * The body of `POST /stores`, as a client sends it.
 *
 * @public
 */
export type CreateStoreRequest = z.input<typeof createStoreRequestSchema>;

/**
 * Validates the query of `GET /stores`: filters, then `offset` and `limit` (1 to 200, default 50).
 *
 * @public
 */
export const listStoresQuerySchema = z.strictObject({
  owner: ownerRefSchema.optional(),
  entityRef: cleanText('entityRef', {
    maxLength: ENTITY_REF_MAX_LENGTH,
  }).optional(),
  status: z.enum(STORE_STATUSES as [StoreStatus, ...StoreStatus[]]).optional(),
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/**
 * The query of `GET /stores`, as a client sends it.
 *
 * @public
 */
export type ListStoresQuery = z.input<typeof listStoresQuerySchema>;

/**
 * Turns zod issues into one plain-words sentence for a 400 response.
 *
 * @public
 */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map(issue =>
      issue.path.length
        ? `${issue.path.join('.')}: ${issue.message}`
        : issue.message,
    )
    .join('; ');
}
