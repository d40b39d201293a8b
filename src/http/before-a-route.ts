import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { AppEnv } from './app-env.js';

/**
 * A guard that stands before routes only. A request that reaches no route at all (to be
 * answered 404 or 405) passes it, so that it is told the route does not exist rather than asked
 * for a key: guards mounted at `/`, or with `use('*')` in a router, do not turn every unknown
 * path into a 401. Every route registered with a method counts; NEXUS registers none with `all()`.
 */
export const beforeARoute =
  (guard: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> =>
  (c, next) =>
    matchedRoutes(c).every((route) => route.method === 'ALL') ? next() : guard(c, next);
