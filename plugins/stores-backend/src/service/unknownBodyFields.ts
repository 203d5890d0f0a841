import { InputError } from '@backstage/errors';
import { ErrorRequestHandler, Request } from 'express';

/**
 * The OpenAPI request validator rejects a body with fields its schema does not allow, but
 * its message ("request/body must NOT have additional properties") does not say which;
 * this names them and the allowed ones, so the caller knows what to fix.
 */
export function nameUnknownBodyFields(
  allowedFieldsOf: (req: Request) => readonly string[],
): ErrorRequestHandler {
  return (error, req, _res, next) => {
    const body: unknown = req.body;
    if (
      error instanceof InputError &&
      error.message.endsWith(
        'request/body must NOT have additional properties',
      ) &&
      typeof body === 'object' &&
      body !== null &&
      !Array.isArray(body)
    ) {
      const allowedFields = allowedFieldsOf(req);
      const unknown = Object.keys(body).filter(
        key => !allowedFields.includes(key),
      );
      next(
        new InputError(
          `Unknown field${
            unknown.length === 1 ? '' : 's'
          } in the request body: ${unknown.join(', ')}; ${
            allowedFields.length > 0
              ? `allowed fields are ${allowedFields.join(', ')}`
              : 'this request takes no fields (send no body or {})'
          }`,
        ),
      );
      return;
    }
    next(error);
  };
}
