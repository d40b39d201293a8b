import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.js';
import { RequestError } from '../errors.js';

export interface ExpensiveReadsOptions {
  /** EXPENSIVE_READS_PER_KEY: how many one key may run at once. */
  readonly perKey: number;
}

/**
 * For reads that fold or scan a tenant's history (a past snapshot, a diff, a resumed stream's
 * snapshot, the audit, the spend): at most `perKey` at once per key, so that one reader looping
 * them cannot take the process from everyone else; more get 429 with Retry-After.
 * `limit(perKey)` makes one counter, shared by every route it guards.
 *
 * @example
 *   const expensive = expensiveReads({ perKey: 2 });
 *   router.get('/snapshot/diff', expensive, handler);
 */
export function expensiveReads(options: ExpensiveReadsOptions): MiddlewareHandler<AppEnv> {
  const running = new Map<string, number>();
  return async function expensiveReadsMiddleware(c, next) {
    const key = c.get('key_fingerprint');
    const now = running.get(key) ?? 0;
    if (now >= options.perKey) {
      throw new RequestError(429, 'too_many_expensive_reads', `this key already runs ${now} reads of history at once (EXPENSIVE_READS_PER_KEY); retry when one is done`, {
        retry_after_seconds: 1,
      });
    }
    running.set(key, now + 1);
    try {
      await next();
    } finally {
      const left = (running.get(key) ?? 1) - 1;
      if (left === 0) running.delete(key);
      else running.set(key, left);
    }
  };
}

/** One at a time in this process (a chain verification keeps a core busy): the others get 429. */
export function oneAtATime(what: string): MiddlewareHandler<AppEnv> {
  let busy = false;
  return async function oneAtATimeMiddleware(_c, next) {
    if (busy) throw new RequestError(429, 'busy', `another ${what} is running; retry in a moment`, { retry_after_seconds: 2 });
    busy = true;
    try {
      await next();
    } finally {
      busy = false;
    }
  };
}
