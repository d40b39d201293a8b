import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.js';
import { RequestError } from '../errors.js';
import { TokenBuckets, type Bucket } from '../middleware/token-buckets.js';

export interface AuthAttemptsOptions {
  /** AUTH_FAILURES_PER_MINUTE; 0 turns the limit off. */
  readonly perMinute: number;
  readonly now?: () => number;
}

/**
 * Attempts at keys, per client address: a request refused with 401 (a wrong or missing key,
 * an expired session) and every `POST /session` take a token from the address's bucket
 * (`perMinute`, refilled over a minute); once it is empty the address gets 429 before its key
 * is even looked at, so keys cannot be guessed at the speed of the network. `counting` guards
 * a route whose every request counts (sign-in).
 *
 * @example
 *   const attempts = authAttempts({ perMinute: 60 });
 *   app.use('/agent/*', attempts.guard(authenticate));
 */
export function authAttempts(options: AuthAttemptsOptions) {
  const now = options.now ?? Date.now;
  const buckets = new TokenBuckets({ capacity: options.perMinute, perSecond: options.perMinute / 60 });
  const perMs = options.perMinute / 60_000;
  const left = (address: string): Bucket => buckets.at(address, now());
  const addressOf = (c: Parameters<MiddlewareHandler<AppEnv>>[0]): string =>
    c.env?.incoming?.socket?.remoteAddress ?? 'unknown';
  const refuseWhenSpent = (bucket: Bucket) => {
    if (bucket.tokens >= 1) return;
    throw new RequestError(
      429,
      'too_many_auth_attempts',
      `too many attempts with a wrong or missing key from this address; at most ${options.perMinute} a minute (AUTH_FAILURES_PER_MINUTE)`,
      {
        retry_after_seconds: Math.ceil((1 - bucket.tokens) / perMs / 1000),
      },
    );
  };

  return {
    /** `authenticate`, with its refusals counted against the caller's address. */
    guard(authenticate: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> {
      if (options.perMinute === 0) return authenticate;
      return async function authAttemptsMiddleware(c, next) {
        const bucket = left(addressOf(c));
        refuseWhenSpent(bucket);
        try {
          return await authenticate(c, next);
        } catch (error) {
          if (error instanceof RequestError && error.status === 401) bucket.tokens -= 1;
          throw error;
        }
      };
    },
    /** Every request counts (sign-in). */
    counting: async function countedAttemptMiddleware(c, next) {
      if (options.perMinute === 0) return next();
      const bucket = left(addressOf(c));
      refuseWhenSpent(bucket);
      bucket.tokens -= 1;
      return next();
    } as MiddlewareHandler<AppEnv>,
  };
}
