import type { MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { withLogContext } from '../../logger.js';
import type { AppEnv } from '../app-env.js';
import { RequestError } from '../errors.js';

/** Visible ASCII, 1-128 characters: safe in headers, logs and SSE data. */
export const correlationIdSchema = z
  .string()
  .regex(/^[\x21-\x7E]{1,128}$/, 'must be 1-128 visible ASCII characters');

export interface CorrelationOptions {
  readonly newId: () => string;
}

/**
 * Gives every request a correlation id (`x-correlation-id`, or a new one), answers it in the
 * same header and puts it on every log line written while the request is handled.
 */
export function correlation(options: CorrelationOptions): MiddlewareHandler<AppEnv> {
  return async function correlationMiddleware(c, next) {
    const given = c.req.header('x-correlation-id');
    if (given !== undefined && !correlationIdSchema.safeParse(given).success) {
      throw new RequestError(400, 'invalid_correlation_id', 'x-correlation-id must be 1-128 visible ASCII characters');
    }
    const id = given ?? options.newId();
    c.set('correlation_id', id);
    await withLogContext({ correlation_id: id }, next);
    if (!c.res.headers.has('x-correlation-id')) c.res.headers.set('x-correlation-id', c.get('correlation_id'));
  };
}
