import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../../logger.js';
import type { AppEnv } from '../app-env.js';

/** One line per request: method, path (never the query), status and duration. */
export function accessLog(logger: Logger): MiddlewareHandler<AppEnv> {
  return async function accessLogMiddleware(c, next) {
    const started = performance.now();
    await next();
    const line = { method: c.req.method, path: c.req.path, status: c.res.status, duration_ms: Math.round((performance.now() - started) * 10) / 10 };
    if (c.res.status >= 500) logger.error(line, 'request');
    else if (c.req.path === '/health') logger.debug(line, 'request');
    else logger.info(line, 'request');
  };
}
