import pg from 'pg';
import type { EventMetadata, RecordedEvent } from '../../events/envelope.js';
import { tenantCache, tenantKey, type Tenant } from '../../events/tenant.js';
import { verifyPages, type StoredHead, type StoredLink } from '../chain-check.js';
import { CommitSignal } from '../commit-signal.js';
import {
  PAGE_BYTES,
  StoreUnavailableError,
  type AppendResult,
  type ChainVerification,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type FeedQuery,
  type SubscribeOptions,
  typedEvent,
} from '../event-store.js';
import type { StoredEvent } from './append-plan.js';
import { clientConfig, createPool, inTransaction, unavailable, type ConnectionOptions } from './connections.js';
import { listen, type Listener } from './listener.js';
import { logNames, migrate, statements, type LogNames, type Statement } from './schema.js';
import { LogTail, type TailPage } from './tail.js';
import { BatchWriter } from './writer.js';

export interface PostgresEventStoreOptions {
  /** e.g. `postgres://nexus@127.0.0.1:5432/nexus`. */
  readonly connectionString: string;
  /** The PostgreSQL schema of the log, created if missing; instances on one schema share one log. Default `nexus`. */
  readonly schema?: string;
  /** Lifts stored data of older event versions; identity by default. */
  readonly upcast?: (type: string, version: number, data: unknown) => unknown;
  /** Pooled connections for appends and reads (one more LISTENs). Default 10. */
  readonly poolSize?: number;
  /** How often to look for events whose notification was lost. Default 1000 ms. */
  readonly pollIntervalMs?: number;
  /** How long connecting may take before the store is reported unavailable. Default 5000 ms. */
  readonly connectTimeoutMs?: number;
  /** How many recent events live subscribers are served from memory. Default 10 000. */
  readonly recentKeep?: number;
}

export interface PostgresEventStore extends EventStore {
  /** Look for new events now: another signal (a Redis fan-out, say) announced some. */
  poke(): void;
}

const CHAIN_PAGE = 5000;

/**
 * The distributed event store: one log in a PostgreSQL schema, shared by every instance opened
 * on it (connections `nexus:<schema>` and `nexus-listen:<schema>` in pg_stat_activity).
 *
 * Appends are group-committed, one transaction at a time per instance. Every append
 * transaction takes the log's advisory lock before it reads the head and numbers its events,
 * so positions commit in order and without holes: a reader that has seen position N will never
 * find an event before N later. Live subscribers are served from memory by one tail per
 * instance, which reads the log after this instance's commits, on a NOTIFY sent by any
 * instance's commit, at `poke()`, and every `pollIntervalMs` in case a notification was lost.
 *
 * @example
 *   const store = await openPostgresEventStore({ connectionString: 'postgres://nexus@db:5432/nexus', schema: 'nexus' });
 */
export async function openPostgresEventStore(options: PostgresEventStoreOptions): Promise<PostgresEventStore> {
  const names = logNames(options.schema ?? 'nexus');
  const connection: ConnectionOptions = {
    connectionString: options.connectionString,
    connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
  };
  const pool = createPool(connection, `nexus:${names.schema}`, options.poolSize ?? 10);
  try {
    await inTransaction(pool, 'BEGIN', (client) => migrate(client, names));
    return new PgEventStore(
      pool,
      names,
      options,
      () => new pg.Client(clientConfig(connection, `nexus-listen:${names.schema}`)),
    );
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw unavailable(error, `open the event log in schema ${names.schema}`);
  }
}

class PgEventStore implements PostgresEventStore {
  private readonly sql;
  private readonly upcast: (type: string, version: number, data: unknown) => unknown;
  private readonly tenantOf = tenantCache();
  private readonly writer: BatchWriter;
  private readonly tail: LogTail;
  private listener: Listener | undefined;
  private poll: NodeJS.Timeout | undefined;
  private state: 'open' | 'closing' | 'closed' = 'open';
  /** Set once something subscribes: an instance that only appends and reads (a worker) never tails the log. */
  private following: Promise<void> | undefined;
  /** The tail holds the log from where following started. */
  private tailing = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly names: LogNames,
    private readonly options: PostgresEventStoreOptions,
    private readonly listenClient: () => pg.Client,
  ) {
    this.sql = statements(names);
    this.upcast = options.upcast ?? ((_type, _version, data) => data);
    this.tail = new LogTail(async (after, limit) => {
      const rows = await this.rows<StoredEvent>(this.sql.feed.all, [after, Number.MAX_SAFE_INTEGER, limit, PAGE_BYTES]);
      const bytes = rows.reduce((sum, row) => sum + row.data.length + row.metadata.length, 0);
      // Cut short by its bytes, a page may be followed by more: see FeedQuery.maxBytes.
      return {
        events: rows.map((row) => this.toRecorded(row)),
        bytes,
        more: rows.length === limit || bytes >= PAGE_BYTES,
      };
    }, options.recentKeep ?? 10_000);
    this.writer = new BatchWriter({
      pool,
      names,
      sql: this.sql,
      tenantOf: (key) => this.tenantOf(key),
      toRecorded: (row) => this.toRecorded(row),
      onWritten: (written) => {
        if (this.tailing) this.tail.committed(written);
      },
    });
  }

  /** Starts following the log from its current head, once: LISTEN, and the poll. */
  private follow(): Promise<void> {
    return (this.following ??= this.startFollowing());
  }

  private async startFollowing(): Promise<void> {
    this.tail.startAt(await this.headPosition());
    this.tailing = true;
    this.listener = await listen({
      client: this.listenClient,
      channel: this.names.channel,
      onNotify: (head) => {
        if (!(Number(head) <= this.tail.position)) this.poke();
      },
      onResumed: () => this.poke(),
    });
    this.poll = setInterval(() => this.poke(), this.options.pollIntervalMs ?? 1_000);
    this.poll.unref();
  }

  append(
    tenant: Tenant,
    stream: string,
    events: readonly EventToAppend[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    if (this.state !== 'open') return Promise.reject(new StoreUnavailableError(`the event store is ${this.state}`));
    return this.writer.append(tenant, stream, events, expected);
  }

  async readStream(tenant: Tenant, stream: string): Promise<RecordedEvent[]> {
    const rows = await this.rows<StoredEvent>(this.sql.stream, [tenantKey(tenant), stream]);
    return rows.map((row) => this.toRecorded(row));
  }

  async readFeed(query: FeedQuery): Promise<RecordedEvent[]> {
    this.assertOpen();
    if (query.types?.length === 0) return [];
    return this.readFeedNow(
      query.tenant && tenantKey(query.tenant),
      query.after,
      query.upTo ?? Number.MAX_SAFE_INTEGER,
      query.limit,
      query.types,
      query.maxBytes,
      query.withoutPayloads,
    );
  }

  async headPosition(): Promise<number> {
    return (await this.rows<{ head: number }>(this.sql.head, []))[0]!.head;
  }

  async verifyChain(tenant: Tenant): Promise<ChainVerification> {
    this.assertOpen();
    const key = tenantKey(tenant);
    const verify = (client: pg.PoolClient) => {
      const read = async <R extends pg.QueryResultRow>(statement: Statement, values: unknown[]) =>
        (await client.query<R>({ ...statement, values })).rows;
      return verifyPages(
        (after) => read<StoredLink>(this.sql.chainPage, [key, after, CHAIN_PAGE, PAGE_BYTES]),
        async () => (await read<StoredHead>(this.sql.chainHead, [key]))[0],
      );
    };
    // One snapshot: the rows and the stored head come from the same moment, however many
    // commits land meanwhile.
    return inTransaction(this.pool, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', verify).catch(
      (error: unknown) => {
        throw unavailable(error, 'verify the hash chain');
      },
    );
  }

  async *subscribe(options: SubscribeOptions): AsyncIterable<readonly RecordedEvent[]> {
    const limit = options.batchSize ?? 500;
    const tenant = options.tenant && tenantKey(options.tenant);
    let after = options.after;
    this.assertOpen();
    await this.follow().catch((error: unknown) => {
      this.following = undefined;
      throw unavailable(error, 'follow the log');
    });
    while (this.state === 'open' && !options.signal?.aborted) {
      // Taken before reading: a tail that moves during the read ends the wait below at once.
      const moved = this.tail.next();
      const { events, scannedTo } =
        this.tail.page(after, limit, tenant) ?? (await this.readBehindTail(tenant, after, limit));
      if (events.length > 0) yield events;
      if (scannedTo > after) after = scannedTo;
      else await CommitSignal.until(moved, options.signal);
    }
  }

  poke(): void {
    if (this.tailing) void this.tail.catchUp();
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    await this.writer.flush();
    clearInterval(this.poll);
    this.tail.stop();
    await this.listener?.close();
    this.state = 'closed';
    await this.pool.end();
  }

  /** A page older than the tail holds in memory (a subscriber catching up), from the database. */
  private async readBehindTail(tenant: string | undefined, after: number, limit: number): Promise<TailPage> {
    const upTo = this.tail.position;
    const events = await this.readFeedNow(tenant, after, upTo, limit);
    // Only an empty page says the log holds nothing more up to the tail (see FeedQuery.maxBytes).
    return { events, scannedTo: events.length > 0 ? events[events.length - 1]!.position : upTo };
  }

  private async readFeedNow(
    tenant: string | undefined,
    after: number,
    upTo: number,
    limit: number,
    types?: readonly string[],
    maxBytes = PAGE_BYTES,
    withoutPayloads = false,
  ): Promise<RecordedEvent[]> {
    const { feed } = this.sql;
    const lean = withoutPayloads && !types;
    const statement = tenant
      ? types
        ? feed.tenantTypes
        : lean
          ? feed.tenantLean
          : feed.tenant
      : types
        ? feed.types
        : lean
          ? feed.lean
          : feed.all;
    const values: unknown[] = [after, upTo, limit, maxBytes];
    if (tenant) values.push(tenant);
    if (types) values.push(types);
    return (await this.rows<StoredEvent>(statement, values)).map((row) => this.toRecorded(row));
  }

  private async rows<R extends pg.QueryResultRow>(statement: Statement, values: unknown[]): Promise<R[]> {
    this.assertOpen();
    try {
      return (await this.pool.query<R>({ name: statement.name, text: statement.text, values })).rows;
    } catch (error) {
      throw unavailable(error, 'read the event log');
    }
  }

  private toRecorded(row: StoredEvent): RecordedEvent {
    const { position, stream, revision, event_id, type, version } = row;
    const data = this.upcast(type, version, JSON.parse(row.data));
    return typedEvent({
      position,
      tenant: this.tenantOf(row.tenant),
      stream,
      revision,
      event_id,
      type,
      version,
      data,
      metadata: JSON.parse(row.metadata) as EventMetadata,
    });
  }

  private assertOpen(): void {
    if (this.state === 'closed') throw new StoreUnavailableError('the event store is closed');
  }
}
