import type { MiddlewareHandler } from 'hono';
import { tenantKey } from '../../events/tenant.js';
import type { AppEnv } from '../app-env.js';
import { RequestError } from '../errors.js';

export interface RateLimitOptions {
  /** Sustained requests per second per tenant; 0 turns the limit off. */
  readonly perSecond: number;
  readonly burst: number;
  readonly now?: () => number;
}

const MAX_BUCKETS = 10_000;

interface Bucket {
  tokens: number;
  updated: number;
}

/** A token bucket per tenant: `burst` at once, refilled at `perSecond`. 429 beyond. */
export function rateLimit(options: RateLimitOptions): MiddlewareHandler<AppEnv> {
  const now = options.now ?? Date.now;
  const buckets = new Map<string, Bucket>();
  return async function rateLimitMiddleware(c, next) {
    if (options.perSecond === 0) return next();
    const key = tenantKey(c.get('tenant'));
    const at = now();
    const bucket = buckets.get(key) ?? { tokens: options.burst, updated: at };
    bucket.tokens = Math.min(options.burst, bucket.tokens + ((at - bucket.updated) / 1000) * options.perSecond);
    bucket.updated = at;
    // Most recently used last: past MAX_BUCKETS the least recently used bucket goes.
    buckets.delete(key);
    buckets.set(key, bucket);
    if (buckets.size > MAX_BUCKETS) buckets.delete(buckets.keys().next().value!);
    if (bucket.tokens < 1) {
      const retryAfter = Math.ceil((1 - bucket.tokens) / options.perSecond);
      throw new RequestError(429, 'rate_limited', `this tenant is limited to ${options.perSecond} requests per second`, {
        retry_after_seconds: retryAfter,
      });
    }
    bucket.tokens -= 1;
    return next();
  };
}
