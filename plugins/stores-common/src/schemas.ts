import { z } from 'zod';
import { normalizeStoreName, storeNameProblem } from './naming';
import {
  ENTITY_REF_MAX_LENGTH,
  KEY_MAX_LENGTH,
  STORE_DESCRIPTION_MAX_LENGTH,
  STORE_DISPLAY_NAME_MAX_LENGTH,
  STORE_NAME_INPUT_MAX_LENGTH,
  textProblem,
} from './textRules';

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
 * A store name as a user types it: clean text, normalised to the DNS-safe form, then checked.
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
 * An owner entity ref: clean text, trimmed and lower-cased.
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
 * The product's rules for the body of `POST /stores`, beyond what openapi.yaml says (the
 * router has checked that first): clean text, the normalised name, the owner ref's form.
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
 * A store's display name: clean text on one line, trimmed, not empty.
 *
 * @public
 */
export const storeDisplayNameSchema = cleanText('displayName', {
  maxLength: STORE_DISPLAY_NAME_MAX_LENGTH,
})
  .trim()
  .min(1, { message: 'displayName must not be blank' });

/**
 * The product's rules for the body of `PATCH /stores/:id`, beyond openapi.yaml's: clean text.
 *
 * @public
 */
export const updateStoreRequestSchema = z.strictObject({
  displayName: storeDisplayNameSchema.optional(),
  plan: cleanText('plan', { maxLength: KEY_MAX_LENGTH }).min(1).optional(),
});

/**
 * The product's rules for the filters of `GET /stores`, beyond openapi.yaml's (the router has
 * checked the query's form, the status and the paging against it first): clean text, the
 * owner ref's form. Other parameters pass through untouched.
 *
 * @public
 */
export const listStoresQuerySchema = z.object({
  owner: ownerRefSchema.optional(),
  entityRef: cleanText('entityRef', {
    maxLength: ENTITY_REF_MAX_LENGTH,
  }).optional(),
});

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
