import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  MaxAppendSizeExceededError,
  StreamDeletedError,
  StreamNotFoundError,
  streamNameFilter,
  WrongExpectedVersionError,
  type ReadStreamOptions,
} from '@eventstore/db-client';
import type { RecordedEvent } from '../../events/envelope.js';
import type { Tenant } from '../../events/tenant.js';
import { IDS_USED_ELSEWHERE, matchesExpected, SAME_ID_TWICE } from '../append-checks.js';
import { conflictError } from '../append-outcome.js';
import {
  ConcurrencyError,
  PAGE_BYTES,
  StoreUnavailableError,
  type AppendResult,
  type ChainVerification,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type FeedQuery,
  type SubscribeOptions,
} from '../event-store.js';
import { EsdbChain } from './chain.js';
import { EsdbCodec, positionOf, readAfter, toEventData } from './codec.js';
import { esdbConnectionString, esdbNames, fromEsdbCurrent, toEsdbExpected, type EsdbNames } from './names.js';
import { catchUp, follow, lastPosition, probe, storeError } from './reads.js';
import { RecentIds } from './recent-ids.js';

export interface EsdbEventStoreOptions {
  /** `esdb://host:2113?tls=false` and the like; `kurrentdb://` is read as `esdb://`. */
  readonly connectionString: string;
  /** Starts every stream name (see `names.ts`), so that runs sharing a server stay apart. `nexus` by default. */
  readonly prefix?: string;
  /** Lifts stored data of older event versions; identity by default. */
  readonly upcast?: (type: string, version: number, data: unknown) => unknown;
  /** Told when a background pass sealing a tenant's hash chain fails; the next pass makes up for it. */
  readonly onBackgroundError?: (error: unknown) => void;
}

/**
 * The event store on EventStoreDB / KurrentDB (23.10 or later). Each port stream is one ESDB
 * stream (`names.ts`); positions are the events' commit positions in $all (`codec.ts`);
 * tenant feeds and subscriptions are $all filtered by the server on the tenant's name prefix,
 * subscriptions resubscribe after a drop (`reads.ts`); the hash chain is sealed per tenant
 * after the fact (`chain.ts`). The user needs to read $all (`admin` or `$ops`).
 *
 * A position handed to `readFeed` or `subscribe` as `after` must be 0 or one this store gave
 * out: ESDB positions are byte offsets, and one that does not start a record is refused.
 *
 * @example
 *   const store = await openEsdbEventStore({ connectionString: 'esdb://eventstore:2113?tls=false' });
 *   await store.append(tenant, 'command-42', [event], 'no_stream');
 */
export async function openEsdbEventStore(options: EsdbEventStoreOptions): Promise<EventStore> {
  const names = esdbNames(options.prefix);
  let client: EventStoreDBClient;
  try {
    client = EventStoreDBClient.connectionString(esdbConnectionString(options.connectionString));
  } catch (cause) {
    throw new StoreUnavailableError('the EventStoreDB connection string cannot be read', { cause });
  }
  try {
    await probe(client, `${names.prefix}~probe~`);
  } catch (error) {
    await client.dispose().catch(() => undefined);
    throw error instanceof StoreUnavailableError
      ? error
      : new StoreUnavailableError('EventStoreDB cannot be reached', { cause: error });
  }
  return new EsdbEventStore(client, names, options);
}

class EsdbEventStore implements EventStore {
  private readonly codec: EsdbCodec;
  private readonly chain: EsdbChain;
  private readonly recentIds = new RecentIds();
  private readonly inFlight = new Set<Promise<AppendResult>>();
  /** Settles with the first append (see `append`). */
  private firstAppend: Promise<void> | undefined;
  /** Aborted at close: ends every subscription. */
  private readonly lifetime = new AbortController();
  private state: 'open' | 'closing' | 'closed' = 'open';

  constructor(
    private readonly client: EventStoreDBClient,
    private readonly names: EsdbNames,
    options: EsdbEventStoreOptions,
  ) {
    this.codec = new EsdbCodec(names, options.upcast);
    this.chain = new EsdbChain(client, names, this.codec, options.onBackgroundError ?? (() => undefined));
  }

  append(
    tenant: Tenant,
    stream: string,
    events: readonly EventToAppend[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    if (this.state !== 'open') return Promise.reject(new StoreUnavailableError(`the event store is ${this.state}`));
    // The client opens its batch-append call on its first append, which puts that append a few
    // ticks behind those called right after it: holding them until it is done keeps concurrent
    // appends reaching the server, and taking positions, in the order they were called.
    const first = this.firstAppend;
    const appending = first
      ? first.then(() => this.appendNow(tenant, stream, events, expected))
      : this.appendNow(tenant, stream, events, expected);
    this.firstAppend ??= appending.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(appending);
    const settled = (): void => void this.inFlight.delete(appending);
    appending.then(settled, settled);
    return appending;
  }

  private async appendNow(
    tenant: Tenant,
    stream: string,
    events: readonly EventToAppend[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    const name = this.names.stream(tenant, stream);
    const expectedRevision = toEsdbExpected(expected);
    const ids = events.map((event) => event.event_id);
    // Where the stream stands is not known here: the server checks the expected revision.
    if (new Set(ids).size !== ids.length) throw conflictError(stream, expected, { actual: -1, detail: SAME_ID_TWICE });
    if (events.length === 0) return this.check(name, stream, expected);
    // 1. the same ids again: the original result
    const known = this.recentIds.match(name, ids);
    if (known.kind === 'other') throw conflictError(stream, expected, { actual: -1, detail: IDS_USED_ELSEWHERE });
    if (known.kind === 'same') {
      const again = await this.readBack(name, known.first, ids);
      if (again) return again;
    }
    // 2. append; the server itself answers a repeated append (same ids, same expected revision)
    // with the revision of the original instead of writing again
    let revision: bigint;
    try {
      ({ nextExpectedRevision: revision } = await this.client.appendToStream(name, events.map(toEventData), {
        expectedRevision,
      }));
    } catch (error) {
      if (error instanceof WrongExpectedVersionError)
        throw new ConcurrencyError(stream, expected, fromEsdbCurrent(error.actualVersion));
      if (error instanceof MaxAppendSizeExceededError)
        throw new RangeError(
          `stream ${stream}: the append is larger than EventStoreDB accepts (${error.maxAppendSize} bytes)`,
          { cause: error },
        );
      throw storeError(error, `append to ${name}`);
    }
    // 3. read the events back: only a read tells each one's position
    const first = Number(revision) - events.length + 1;
    const result = await this.readBack(name, first, ids);
    if (!result)
      throw new StoreUnavailableError(
        `EventStoreDB acknowledged an append to ${name}, but revisions ${first} on hold other events`,
      );
    this.recentIds.remember(name, ids, first);
    this.chain.request(tenant);
    return result;
  }

  /** An empty append: the expected revision is checked, nothing is written. */
  private async check(name: string, stream: string, expected: ExpectedRevision): Promise<AppendResult> {
    const [last] = await this.readEsdbStream(name, { direction: BACKWARDS, fromRevision: END, maxCount: 1 });
    const actual = last?.revision ?? -1;
    if (!matchesExpected(expected, actual)) throw conflictError(stream, expected, { actual });
    return { revision: actual, events: [] };
  }

  private async readBack(name: string, first: number, ids: readonly string[]): Promise<AppendResult | undefined> {
    if (first < 0) return undefined;
    const events = await this.readEsdbStream(name, { fromRevision: BigInt(first), maxCount: ids.length });
    if (events.length !== ids.length || events.some((event, i) => event.event_id !== ids[i])) return undefined;
    return { revision: first + ids.length - 1, events };
  }

  async readStream(tenant: Tenant, stream: string): Promise<RecordedEvent[]> {
    this.assertReadable();
    return this.readEsdbStream(this.names.stream(tenant, stream));
  }

  private async readEsdbStream(name: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const recorded: RecordedEvent[] = [];
    try {
      for await (const { event } of this.client.readStream(name, options)) {
        const one = event && this.codec.toRecorded(event);
        if (one) recorded.push(one);
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError || error instanceof StreamDeletedError) return [];
      throw storeError(error, `read ${name}`);
    }
    return recorded;
  }

  async readFeed(query: FeedQuery): Promise<RecordedEvent[]> {
    this.assertReadable();
    const { after, upTo, limit } = query;
    if (query.types?.length === 0 || limit <= 0 || (upTo !== undefined && upTo <= after)) return [];
    const prefix = query.tenant ? this.names.tenant(query.tenant) : this.names.all;
    const types = query.types && new Set(query.types);
    const maxBytes = query.maxBytes ?? PAGE_BYTES;
    const page: RecordedEvent[] = [];
    let bytes = 0;
    await catchUp(this.client, {
      after,
      // The server filters on one thing: the types when asked for (the narrower), else the tenant.
      filter: query.types ? { types: query.types } : { streamPrefix: prefix },
      upTo,
      onEvent: (event) => {
        if (upTo !== undefined && positionOf(event) > upTo) return false;
        if (!event.streamId.startsWith(prefix) || (types && !types.has(event.type))) return true;
        const recorded = this.codec.toRecorded(event);
        if (!recorded) return true;
        page.push(recorded);
        // The client hands events over parsed: their size is measured again, as JSON.
        bytes += (JSON.stringify(recorded.data)?.length ?? 4) + JSON.stringify(recorded.metadata).length;
        return page.length < limit && bytes < maxBytes;
      },
    });
    return page;
  }

  async *subscribe(options: SubscribeOptions): AsyncIterable<readonly RecordedEvent[]> {
    this.assertReadable();
    const prefix = options.tenant ? this.names.tenant(options.tenant) : this.names.all;
    const batches = follow({
      open: (after) =>
        this.client.subscribeToAll({
          fromPosition: readAfter(after),
          filter: streamNameFilter({ prefixes: [prefix] }),
        }),
      after: options.after,
      batchSize: options.batchSize ?? 500,
      signal: options.signal ? AbortSignal.any([options.signal, this.lifetime.signal]) : this.lifetime.signal,
    });
    for await (const batch of batches) {
      const events = batch.flatMap((event) => this.codec.toRecorded(event) ?? []);
      if (events.length > 0) yield events;
    }
  }

  async headPosition(): Promise<number> {
    this.assertReadable();
    // Backwards over $all to the last event of ours: past chain seals and the server's own events.
    return lastPosition(this.client, (event) => this.codec.owns(event));
  }

  async verifyChain(tenant: Tenant): Promise<ChainVerification> {
    this.assertReadable();
    return this.chain.verify(tenant);
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    await Promise.allSettled([...this.inFlight]);
    await this.chain.idle();
    this.state = 'closed';
    this.lifetime.abort();
    await this.client.dispose().catch(() => undefined);
  }

  private assertReadable(): void {
    if (this.state === 'closed') throw new StoreUnavailableError('the event store is closed');
  }
}
