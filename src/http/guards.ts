import { Hono, type MiddlewareHandler } from 'hono';
import type { Config } from '../config/load-config.js';
import type { AppEnv } from './app-env.js';
import { beforeARoute } from './before-a-route.js';
import { apiKeyAuth, tenantScope } from './auth/api-key-auth.js';
import { authAttempts } from './auth/auth-attempts.js';
import { sessionKey } from './auth/session-token.js';
import { rateLimit, type SharedBuckets } from './middleware/rate-limit.js';
import { tenantHeaders } from './middleware/tenant.js';

/** What a request passes before a route: authentication, its tenant, its rate. */
export interface Guards {
  /** `x-api-key`, or a dashboard session cookie (with its CSRF token on changes); failures count against the address. */
  readonly authenticate: MiddlewareHandler<AppEnv>;
  /** Signing in counts against the address's attempts even when it succeeds. */
  readonly countingAttempts: MiddlewareHandler<AppEnv>;
  /** The tenant headers, naming a tenant in the principal's scope. */
  readonly tenant: readonly MiddlewareHandler<AppEnv>[];
  /** Per tenant, shared by the replicas when Redis is configured. */
  readonly rateLimited: MiddlewareHandler<AppEnv>;
  /** Signs dashboard sessions. */
  readonly sessionKey: Buffer;
}

export function createGuards(
  config: Config,
  deps: { sessionSecret: string; now: () => Date; rateBuckets?: SharedBuckets },
): Guards {
  const attempts = authAttempts({ perMinute: config.AUTH_FAILURES_PER_MINUTE });
  const signingKey = sessionKey(deps.sessionSecret);
  const authenticate = attempts.guard(
    apiKeyAuth({
      apiKey: config.NEXUS_API_KEY,
      adminKey: config.ADMIN_API_KEY,
      principals: config.principals,
      developmentMode: config.developmentMode,
      sessionKey: signingKey,
      now: () => deps.now().getTime(),
    }),
  );
  return {
    authenticate,
    countingAttempts: attempts.counting,
    tenant: [tenantHeaders(), tenantScope()],
    rateLimited: rateLimit({
      perSecond: config.RATE_LIMIT_PER_SECOND,
      burst: config.RATE_LIMIT_BURST,
      shared: deps.rateBuckets,
    }),
    sessionKey: signingKey,
  };
}

/**
 * The tenant API: every route mounted in it needs a key (or a session), a tenant in the key's
 * scope, and stays within the tenant's rate. Mounted at `/` after the public routes, it guards
 * whatever is added to it, under any prefix.
 *
 * @example
 *   app.route('/', tenantApi(guards).route('/sidecar', commandRoutes(deps)));
 */
export const tenantApi = (guards: Guards) =>
  new Hono<AppEnv>().use('*', ...[guards.authenticate, ...guards.tenant, guards.rateLimited].map(beforeARoute));

/** Routes that need a key but no tenant (`/metrics`). */
export const keyedApi = (guards: Guards) => new Hono<AppEnv>().use('*', beforeARoute(guards.authenticate));
