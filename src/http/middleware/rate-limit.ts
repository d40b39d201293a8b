import type { MiddlewareHandler } from 'hono';
import type { Tenant } from '../../events/tenant.js';
import { tenantKey } from '../../events/tenant.js';
import type { AppEnv } from '../app-env.js';
import { RequestError } from '../errors.js';
import { TokenBuckets } from './token-buckets.js';

export interface RateLimitOptions {
  /** Sustained requests per second per tenant; 0 turns the limit off. */
  readonly perSecond: number;
  readonly burst: number;
  readonly now?: () => number;
  /**
   * Buckets shared by every replica (Redis). While it cannot answer, each replica falls back
   * to its own buckets.
   */
  readonly shared?: SharedBuckets;
}

/** Takes one token from a tenant's bucket; answers the tokens left (below 1: refused). */
export type SharedBuckets = (tenant: Tenant, limits: { perSecond: number; burst: number }) => Promise<number>;

/** A token bucket per tenant: `burst` at once, refilled at `perSecond`. 429 beyond. Buckets answer the tokens there were before this request. */
export function rateLimit(options: RateLimitOptions): MiddlewareHandler<AppEnv> {
  const now = options.now ?? Date.now;
  const buckets = new TokenBuckets({ capacity: options.burst, perSecond: options.perSecond });
  const local = (key: string, at: number): number => {
    const bucket = buckets.at(key, at);
    const before = bucket.tokens;
    if (before >= 1) bucket.tokens -= 1;
    return before;
  };
  return async function rateLimitMiddleware(c, next) {
    if (options.perSecond === 0) return next();
    const tenant = c.get('tenant');
    const at = now();
    const limits = { perSecond: options.perSecond, burst: options.burst };
    const left = options.shared
      ? await options.shared(tenant, limits).catch(() => local(tenantKey(tenant), at))
      : local(tenantKey(tenant), at);
    if (left < 1) {
      const retryAfter = Math.ceil((1 - left) / options.perSecond);
      throw new RequestError(
        429,
        'rate_limited',
        `this tenant is limited to ${options.perSecond} requests per second`,
        {
          retry_after_seconds: retryAfter,
        },
      );
    }
    return next();
  };
}
