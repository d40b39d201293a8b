import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../../observability/logger.js';
import type { AppEnv } from '../app-env.js';

/** One line per request: correlation id, method, path (never the query), status and duration. */
export function accessLog(logger: Logger): MiddlewareHandler<AppEnv> {
  return async function accessLogMiddleware(c, next) {
    if (!logger.isLevelEnabled('info')) return next();
    const started = performance.now();
    await next();
    const line = {
      correlation_id: c.get('correlation_id'),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
    };
    if (c.res.status >= 500) logger.error(line, 'request');
    else if (c.req.path === '/health') logger.debug(line, 'request');
    else logger.info(line, 'request');
  };
}
