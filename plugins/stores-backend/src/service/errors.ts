import { CustomErrorBase } from '@backstage/errors';

/** A limit was hit; Backstage's error handler answers 429 because of `statusCode`. */
export class TooManyRequestsError extends CustomErrorBase {
  name = 'TooManyRequestsError';
  readonly statusCode = 429;
  constructor(message: string, readonly retryAfterSeconds: number) {
    super(message);
  }
}
