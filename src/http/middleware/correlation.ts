import type { MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.js';
import { RequestError } from '../errors.js';
import { header } from '../header.js';

/** Visible ASCII, 1-128 characters: safe in headers, logs and SSE data. */
export const correlationIdSchema = z.string().regex(/^[\x21-\x7E]{1,128}$/, 'must be 1-128 visible ASCII characters');

export interface CorrelationOptions {
  readonly newId: () => string;
}

/**
 * Gives every request a correlation id (`x-correlation-id`, or a new one) and answers it in the
 * same header. Routes that learn a better one (a command's body) replace it.
 */
export function correlation(options: CorrelationOptions): MiddlewareHandler<AppEnv> {
  return async function correlationMiddleware(c, next) {
    const given = header(c, 'x-correlation-id');
    if (given !== undefined && !correlationIdSchema.safeParse(given).success) {
      throw new RequestError(400, 'invalid_correlation_id', 'x-correlation-id must be 1-128 visible ASCII characters');
    }
    const id = given ?? options.newId();
    c.set('correlation_id', id);
    c.header('x-correlation-id', id);
    await next();
  };
}
