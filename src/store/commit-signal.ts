import type { RecordedEvent } from '../events/envelope.js';
import type { SubscribeOptions } from './event-store.js';

/**
 * Wakes everyone waiting for "something was committed". Waiters share one promise per
 * generation, so a commit costs one resolution however many subscriptions wait.
 */
export class CommitSignal {
  private resolveCurrent!: () => void;
  private current: Promise<void> = this.renew();

  /** Resolves at the next `fire()`, or as soon as `signal` aborts. */
  next(signal?: AbortSignal): Promise<void> {
    return CommitSignal.until(this.current, signal);
  }

  /**
   * Resolves when `fired` (a `next()` taken earlier) does, or as soon as `signal` aborts. Taken
   * before a read and awaited with this after it, a `next()` misses no `fire()` during the read.
   *
   * @example
   *   const moved = commits.next();
   *   if ((await read()).length === 0) await CommitSignal.until(moved, signal);
   */
  static until(fired: Promise<void>, signal?: AbortSignal): Promise<void> {
    if (!signal) return fired;
    if (signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const onAbort = (): void => resolve();
      signal.addEventListener('abort', onAbort, { once: true });
      void fired.then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  fire(): void {
    const resolve = this.resolveCurrent;
    this.current = this.renew();
    resolve();
  }

  private renew(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.resolveCurrent = resolve;
    });
  }
}

/**
 * `subscribe` for a store that reads its log synchronously: batches read now, and when caught
 * up a wait for the next commit. Reading and taking the wait happen in one synchronous step, so
 * no commit is announced between the two and nothing is missed.
 */
export async function* followCommits(
  commits: CommitSignal,
  readNow: (query: { tenant: SubscribeOptions['tenant']; after: number; limit: number }) => readonly RecordedEvent[],
  isOpen: () => boolean,
  options: SubscribeOptions,
): AsyncIterable<readonly RecordedEvent[]> {
  const limit = options.batchSize ?? 500;
  let after = options.after;
  while (isOpen() && !options.signal?.aborted) {
    const batch = readNow({ tenant: options.tenant, after, limit });
    if (batch.length > 0) {
      after = batch[batch.length - 1]!.position;
      yield batch;
      continue;
    }
    await commits.next(options.signal);
  }
}
