import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.js';
import { RequestError } from '../errors.js';
import { sleep } from '../../shared/sleep.js';
import { TokenBuckets, type Bucket } from './token-buckets.js';

export interface ExpensiveReadsOptions {
  /** EXPENSIVE_READS_PER_KEY: how many one key may run at once. */
  readonly perKey: number;
  /** EXPENSIVE_READ_MS_PER_SECOND: how much time one key's reads may take, per second, on average. */
  readonly msPerSecond: number;
  readonly now?: () => number;
}

/** What one key is doing: reads running, and milliseconds of reading left (`tokens`; it earns `msPerSecond` a second). */
interface KeyUse {
  readonly time: Bucket;
  running: number;
}

/**
 * The reads that fold or scan a tenant's history (a past snapshot, a diff, a report page, the
 * audit, the spend, a resumed stream's snapshot): each key may run at most `perKey` at once,
 * and spend at most `msPerSecond` of each second on them (the time a read takes is charged
 * when it ends), so that one reader looping them leaves the process to everyone else. One
 * instance is one set of counters, shared by every route it guards.
 *
 * @example
 *   const reads = new ReadBudget({ perKey: 2, msPerSecond: 200 });
 *   router.get('/snapshot/diff', reads.refusing, handler);
 *   router.get('/reports/stream', reads.waiting, handler);
 */
export class ReadBudget {
  private readonly time: TokenBuckets;
  private readonly running = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly options: ExpensiveReadsOptions) {
    this.now = options.now ?? (() => performance.now());
    this.time = new TokenBuckets({ capacity: options.msPerSecond, perSecond: options.msPerSecond });
  }

  /** Past a limit, 429 with Retry-After. */
  readonly refusing: MiddlewareHandler<AppEnv> = async (c, next) => {
    const startedAt = this.now();
    const key = c.get('key_fingerprint');
    const use = this.useOf(key, startedAt);
    if (use.running >= this.options.perKey) {
      throw new RequestError(
        429,
        'too_many_expensive_reads',
        `this key already runs ${use.running} reads of history at once (EXPENSIVE_READS_PER_KEY); retry when one is done`,
        {
          retry_after_seconds: 1,
        },
      );
    }
    if (use.time.tokens <= 0) {
      throw new RequestError(
        429,
        'too_many_expensive_reads',
        `this key has spent its time for reads of history (EXPENSIVE_READ_MS_PER_SECOND=${this.options.msPerSecond}); retry in a moment`,
        {
          retry_after_seconds: Math.max(1, Math.ceil(-use.time.tokens / this.options.msPerSecond)),
        },
      );
    }
    await this.run(key, use, startedAt, next);
  };

  /**
   * Past a limit, the request waits for its turn instead (a stream resumed at a position: an
   * EventSource refused once never comes back). Charged like the others.
   */
  readonly waiting: MiddlewareHandler<AppEnv> = async (c, next) => {
    const key = c.get('key_fingerprint');
    for (
      let use = this.useOf(key, this.now());
      use.running >= this.options.perKey || use.time.tokens <= 0;
      use = this.useOf(key, this.now())
    ) {
      const waitMs = use.time.tokens <= 0 ? (-use.time.tokens / this.options.msPerSecond) * 1000 : 50;
      await sleep(Math.min(1000, Math.max(10, waitMs)));
    }
    const startedAt = this.now();
    await this.run(key, this.useOf(key, startedAt), startedAt, next);
  };

  private async run(key: string, use: KeyUse, startedAt: number, next: () => Promise<void>): Promise<void> {
    this.running.set(key, use.running + 1);
    try {
      await next();
    } finally {
      const left = (this.running.get(key) ?? 1) - 1;
      if (left === 0) this.running.delete(key);
      else this.running.set(key, left);
      use.time.tokens -= this.now() - startedAt;
    }
  }

  private useOf(key: string, at: number): KeyUse {
    return { time: this.time.at(key, at), running: this.running.get(key) ?? 0 };
  }
}

/** One at a time in this process (a chain verification keeps a core busy): the others get 429. */
export function oneAtATime(what: string): MiddlewareHandler<AppEnv> {
  let busy = false;
  return async function oneAtATimeMiddleware(_c, next) {
    if (busy)
      throw new RequestError(429, 'busy', `another ${what} is running; retry in a moment`, { retry_after_seconds: 2 });
    busy = true;
    try {
      await next();
    } finally {
      busy = false;
    }
  };
}
