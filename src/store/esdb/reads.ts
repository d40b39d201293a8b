import {
  AccessDeniedError,
  BACKWARDS,
  InvalidArgumentError,
  END,
  eventTypeFilter,
  isCommandError,
  streamNameFilter,
  type AllStreamRecordedEvent,
  type AllStreamResolvedEvent,
  type EventStoreDBClient,
  type Position,
} from '@eventstore/db-client';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConcurrencyError, StoreUnavailableError } from '../event-store.js';
import { positionOf, readAfter } from './codec.js';

/** Which events of $all a read wants: the server filters on one of stream name or event type. */
export type AllFilter = { readonly streamPrefix: string } | { readonly types: readonly string[] };

export interface CatchUpOptions {
  /** Start after this position (0: the start of the log). */
  readonly after: number;
  readonly filter: AllFilter;
  /** The caller takes nothing past this position: the read may stop once the log is past it. */
  readonly upTo?: number;
  /** Each event in log order; `false` ends the read. */
  readonly onEvent: (event: AllStreamRecordedEvent) => boolean;
}

/**
 * Reads $all after a position up to its end as of now, filtered by the server. `readAll` of this
 * client (6.x) sends no filter, so this is a catch-up subscription, ended at its `caughtUp`
 * signal (EventStoreDB 23.10+) or by the caller. Events are handled synchronously as they come.
 */
export function catchUp(client: EventStoreDBClient, options: CatchUpOptions): Promise<void> {
  const { upTo } = options;
  return new Promise<void>((resolve, reject) => {
    let state: 'reading' | 'ending' | 'done' = 'reading';
    const pastUpTo = (position: Position): void => {
      if (upTo !== undefined && position.commit > BigInt(upTo)) end();
    };
    const subscription = client.subscribeToAll({
      fromPosition: readAfter(options.after),
      filter: serverFilter(options.filter, pastUpTo),
    });
    const finish = (error?: unknown): void => {
      if (state === 'done') return;
      state = 'done';
      void subscription.unsubscribe().catch(() => undefined);
      if (error === undefined) resolve();
      else reject(storeError(error, 'read $all'));
    };
    // `caughtUp` and checkpoints are emitted while events that came before them may still wait
    // in the readable buffer: the read ends when that buffer is empty, all of them handled.
    const end = (): void => {
      if (state !== 'reading') return;
      state = 'ending';
      if (subscription.readableLength === 0) finish();
    };
    subscription.on('data', (resolved: AllStreamResolvedEvent) => {
      if (state === 'done') return;
      try {
        if (resolved.event && !options.onEvent(resolved.event)) return finish();
      } catch (error) {
        return finish(error);
      }
      if (state === 'ending' && subscription.readableLength === 0) finish();
    });
    subscription.on('caughtUp', end);
    subscription.on('error', (error) => finish(error));
    subscription.on('end', () =>
      finish(new StoreUnavailableError('EventStoreDB ended a read of $all before it caught up')),
    );
  });
}

function serverFilter(filter: AllFilter, checkpoint: (position: Position) => void) {
  const checkpoints = {
    checkpointInterval: 10,
    checkpointReached: (_: unknown, position: Position) => checkpoint(position),
  };
  if ('streamPrefix' in filter) return streamNameFilter({ prefixes: [filter.streamPrefix], ...checkpoints });
  const alternatives = filter.types.map((type) => type.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&')).join('|');
  return eventTypeFilter({ regex: `^(?:${alternatives})$`, ...checkpoints });
}

/** The position of the last event of $all that `accept` takes, read backwards; 0 for none. */
export async function lastPosition(
  client: EventStoreDBClient,
  accept: (event: AllStreamRecordedEvent) => boolean,
): Promise<number> {
  const read = client.readAll({ direction: BACKWARDS, fromPosition: END });
  try {
    for await (const resolved of read) {
      if (resolved.event && accept(resolved.event)) return positionOf(resolved.event);
    }
    return 0;
  } catch (error) {
    throw storeError(error, 'read $all backwards');
  } finally {
    void read.cancel().catch(() => undefined);
  }
}

/**
 * Checks, before anything else, that the server answers, lets this user read $all and sends
 * the `caughtUp` signal that `catchUp` relies on (EventStoreDB 23.10 or later).
 */
export function probe(client: EventStoreDBClient, nothing: string, timeoutMs = 10_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const subscription = client.subscribeToAll({
      fromPosition: END,
      filter: streamNameFilter({ prefixes: [nothing] }),
    });
    const timer = setTimeout(
      () =>
        settle(
          new StoreUnavailableError(
            `EventStoreDB sent no caught-up signal within ${timeoutMs} ms: version 23.10 or later is needed`,
          ),
        ),
      timeoutMs,
    );
    let settled = false;
    const settle = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void subscription.unsubscribe().catch(() => undefined);
      if (error === undefined) resolve();
      else reject(storeError(error, 'subscribe to $all'));
    };
    subscription.on('caughtUp', () => settle());
    subscription.on('error', (error) => settle(error));
    subscription.on('end', () =>
      settle(new StoreUnavailableError('EventStoreDB ended a subscription to $all at once')),
    );
    subscription.resume();
  });
}

/** A catch-up subscription as `follow` uses it. */
export type Subscription = Readable & { unsubscribe(): Promise<void> };

export interface FollowOptions {
  /** Opens a catch-up subscription to the events after `after`. */
  readonly open: (after: number) => Subscription;
  readonly after: number;
  readonly batchSize: number;
  readonly signal: AbortSignal;
  /** Milliseconds to wait before the n-th new subscription in a row that delivered nothing. */
  readonly retryDelay?: (failures: number) => number;
}

/**
 * The events after `after`, in batches, until `signal` aborts. When a subscription drops (the
 * connection broke, the server found the consumer too slow, the call ended) the client does not
 * subscribe again by itself: this does, after the last event handed out, with backoff, so
 * nothing is skipped or repeated. Errors a new subscription would meet again end it.
 */
export async function* follow(options: FollowOptions): AsyncGenerator<AllStreamRecordedEvent[]> {
  const { signal } = options;
  const retryDelay = options.retryDelay ?? backoff;
  let after = options.after;
  let failures = 0;
  while (!signal.aborted) {
    const subscription = options.open(after);
    subscription.on('error', () => undefined);
    const cancel = (): void => {
      void subscription.unsubscribe().catch(() => undefined);
      subscription.destroy();
    };
    signal.addEventListener('abort', cancel, { once: true });
    try {
      for await (const resolved of inBatches<AllStreamResolvedEvent>(subscription, options.batchSize)) {
        const fresh: AllStreamRecordedEvent[] = [];
        for (const { event } of resolved) if (event && positionOf(event) > after) fresh.push(event);
        if (signal.aborted) return;
        if (fresh.length === 0) continue;
        after = positionOf(fresh[fresh.length - 1]!);
        failures = 0;
        yield fresh;
      }
    } catch (error) {
      if (signal.aborted) return;
      if (!isTransient(error)) throw storeError(error, 'follow $all');
    } finally {
      signal.removeEventListener('abort', cancel);
      cancel();
    }
    failures++;
    try {
      await sleep(retryDelay(failures), undefined, { signal });
    } catch {
      return;
    }
  }
}

/** The readable's items, as many at a time as it already holds (at most `max`). */
async function* inBatches<T>(readable: Readable, max: number): AsyncGenerator<T[]> {
  const items = readable[Symbol.asyncIterator]() as AsyncIterator<T>;
  try {
    for (;;) {
      const first = await items.next();
      if (first.done) return;
      const batch = [first.value];
      while (batch.length < max && readable.readableLength > 0) {
        const next = await items.next();
        if (next.done) break;
        batch.push(next.value);
      }
      yield batch;
    }
  } finally {
    await items.return?.();
  }
}

const backoff = (failures: number): number => Math.min(5_000, 100 * 2 ** (failures - 1)) * (0.75 + Math.random() / 2);

/** gRPC statuses that a new call would meet again. */
const PERMANENT_STATUSES = new Set([
  3 /* INVALID_ARGUMENT */, 7 /* PERMISSION_DENIED */, 11 /* OUT_OF_RANGE */, 16 /* UNAUTHENTICATED */,
]);

/** An engine error that a new subscription may not meet: unavailable, timed out, dropped... */
function isTransient(error: unknown): boolean {
  if (!(error instanceof Error) || error instanceof AccessDeniedError || error instanceof InvalidArgumentError)
    return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'number') return !PERMANENT_STATUSES.has(code);
  return isCommandError(error) || code === 'ERR_STREAM_PREMATURE_CLOSE';
}

/** The port's error for what the client threw: the engine's errors become `StoreUnavailableError`. */
export function storeError(error: unknown, doing: string): unknown {
  if (error instanceof StoreUnavailableError || error instanceof ConcurrencyError) return error;
  if (!(error instanceof Error) || !(isCommandError(error) || ('code' in error && 'details' in error))) return error;
  return new StoreUnavailableError(`EventStoreDB could not ${doing}: ${error.message}`, { cause: error });
}
