import type { EventMetadata, RecordedEvent } from '../events/envelope.js';
import type { Tenant } from '../events/tenant.js';

export { typedEvent } from '../events/envelope.js';

/**
 * What an append expects the stream to look like:
 * - `no_stream`: the stream must not exist yet;
 * - `stream_exists`: it must have at least one event;
 * - a number: the revision of its last event must be exactly that;
 * - `any`: no check.
 */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | number;

export interface EventToAppend {
  /** Unique across the whole store; appending the same ids again is a no-op. */
  readonly event_id: string;
  readonly type: string;
  readonly version: number;
  readonly data: unknown;
  readonly metadata: EventMetadata;
}

export interface AppendResult {
  /** Revision of the stream's last event after the append. */
  readonly revision: number;
  /** The events as recorded, with their positions. */
  readonly events: readonly RecordedEvent[];
}

export interface FeedQuery {
  /** Only this tenant's events; all tenants when absent (dispatch and fan-out only). */
  readonly tenant?: Tenant;
  /** Exclusive lower bound: events with a position strictly greater. */
  readonly after: number;
  /** Inclusive upper bound, for time travel. */
  readonly upTo?: number;
  /** Only events of these types. */
  readonly types?: readonly string[];
  readonly limit: number;
  /**
   * Most bytes of stored data (data and metadata JSON) a page holds, `PAGE_BYTES` by default;
   * a page always holds at least one event when there is one. So a page shorter than `limit`
   * is not the end of the feed: only an empty one is.
   */
  readonly maxBytes?: number;
  /**
   * For readers that need neither (the dispatcher, the snapshot): the stores that can leave the
   * bulky payloads out do (`params` of `CommandAccepted`, `result` of `TaskSucceeded`, as `{}`
   * and `null`), so that folding a log of large commands is cheap. Not with `types`.
   */
  readonly withoutPayloads?: boolean;
}

/**
 * What a reader of many pages awaits between them: the next turn of the event loop. An embedded
 * store answers from memory and disk without waiting on anything, so a loop over its pages
 * would otherwise hold the process until the last page: other requests go first.
 */
export const betweenPages = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The bytes of stored JSON a page of the feed holds at most, unless a query says otherwise. */
export const PAGE_BYTES = 4 * 1024 * 1024;

/**
 * Takes rows while the bytes before each one stay under `maxBytes`: at least one row, and
 * never a page of large events that outgrows memory.
 */
export function* withinBytes<T>(
  rows: Iterable<T>,
  sizeOf: (row: T) => number,
  limit: number,
  maxBytes: number,
): Generator<T> {
  let bytes = 0;
  let count = 0;
  for (const row of rows) {
    if (count >= limit || (count > 0 && bytes >= maxBytes)) return;
    bytes += sizeOf(row);
    count++;
    yield row;
  }
}

export interface SubscribeOptions {
  readonly tenant?: Tenant;
  readonly after: number;
  readonly signal?: AbortSignal;
  /** Largest batch handed over at once (and never more than `PAGE_BYTES` of events, but one). */
  readonly batchSize?: number;
}

/** The outcome of checking a tenant's hash chain. */
export interface ChainVerification {
  readonly ok: boolean;
  /** Events checked. */
  readonly events: number;
  /** The last link as recomputed: record it elsewhere to detect a rewrite of the whole log later. */
  readonly head: { readonly position: number; readonly link: string } | null;
  /** The first position where the stored chain stops matching the events. */
  readonly broken_at?: number;
  readonly reason?: string;
}

/** The optimistic-concurrency failure of every adapter, whatever its engine calls it. */
export class ConcurrencyError extends Error {
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    readonly actual: number | 'no_stream',
    detail?: string,
  ) {
    super(detail ?? `stream ${stream}: expected revision ${String(expected)}, found ${String(actual)}`);
    this.name = 'ConcurrencyError';
  }
}

/** Events the store cannot hold (data JSON cannot represent, or its engine refuses); only their append fails. */
export class UnstorableEventError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnstorableEventError';
  }
}

/** The store cannot serve requests (closed, unreachable, disk full). */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * The event store port. Streams live inside a tenant; positions are global, strictly
 * increasing integers and a tenant's feed is the log filtered to that tenant.
 *
 * @example
 *   const { revision } = await store.append(tenant, 'command-42', [event], 'no_stream');
 *   const history = await store.readStream(tenant, 'command-42');
 *   for await (const batch of store.subscribe({ tenant, after: 0, signal })) render(batch);
 */
export interface EventStore {
  /**
   * Appends atomically and durably; resolves once committed. Throws `ConcurrencyError` when the
   * stream does not match `expected`. Re-appending events whose ids are already in that stream,
   * in the same order, resolves to the original result and writes nothing.
   */
  append(
    tenant: Tenant,
    stream: string,
    events: readonly EventToAppend[],
    expected: ExpectedRevision,
  ): Promise<AppendResult>;

  /** The whole stream in revision order; empty when it does not exist. */
  readStream(tenant: Tenant, stream: string): Promise<RecordedEvent[]>;

  /** A page of the log in position order. */
  readFeed(query: FeedQuery): Promise<RecordedEvent[]>;

  /** Catch-up then live: every event after `after`, in order, in batches, until aborted. */
  subscribe(options: SubscribeOptions): AsyncIterable<readonly RecordedEvent[]>;

  /** Position of the last committed event (0 for an empty log). */
  headPosition(): Promise<number>;

  /**
   * Recomputes the tenant's hash chain (each event linked to the one before it) over what is
   * stored: an edited, inserted or deleted event is found.
   */
  verifyChain(tenant: Tenant): Promise<ChainVerification>;

  /** Finishes in-flight appends, then releases the engine. */
  close(): Promise<void>;
}
