import { z } from 'zod';
import { normalizeStoreName, storeNameProblem } from './naming';
import { STORE_STATUSES, StoreStatus } from './types';

const entityRefPattern =
  /^(user|group):[a-z0-9][-a-z0-9_.]*\/[A-Za-z0-9][-A-Za-z0-9_.]*$/;

export const storeNameSchema = z
  .string({ error: 'name is required' })
  .transform(normalizeStoreName)
  .superRefine((name, ctx) => {
    const problem = storeNameProblem(name);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const ownerRefSchema = z
  .string({ error: 'owner is required' })
  .trim()
  .transform(s => s.toLowerCase())
  .refine(ref => entityRefPattern.test(ref), {
    message:
      'owner must be a full user or group entity ref, e.g. group:default/team-a',
  });

/** Body of `POST /stores`. Unknown fields are rejected. */
export const createStoreRequestSchema = z.strictObject({
  name: storeNameSchema,
  owner: ownerRefSchema,
  plan: z.string().min(1).max(63).optional(),
  engine: z.string().min(1).max(63).optional(),
  description: z.string().max(500).optional(),
});

export type CreateStoreRequest = z.input<typeof createStoreRequestSchema>;

export const listStoresQuerySchema = z.strictObject({
  owner: ownerRefSchema.optional(),
  entityRef: z.string().max(300).optional(),
  status: z.enum(STORE_STATUSES as [StoreStatus, ...StoreStatus[]]).optional(),
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export type ListStoresQuery = z.input<typeof listStoresQuerySchema>;

/** Turns zod issues into one plain-words sentence for a 400 response. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map(issue =>
      issue.path.length
        ? `${issue.path.join('.')}: ${issue.message}`
        : issue.message,
    )
    .join('; ');
}
