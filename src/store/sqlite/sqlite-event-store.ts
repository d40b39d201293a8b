import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { dirname, join } from 'node:path';
import type { EventMetadata, RecordedEvent } from '../../events/envelope.js';
import { tenantCache, tenantKey, type Tenant } from '../../events/tenant.js';
import { CommitSignal } from '../commit-signal.js';
import {
  ConcurrencyError,
  PAGE_BYTES,
  StoreUnavailableError,
  UnstorableEventError,
  type ChainVerification,
  type AppendResult,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type FeedQuery,
  type SubscribeOptions,
  typedEvent,
} from '../event-store.js';
import { RecentEvents } from '../recent-events.js';
import { threadedWriter, type WireAppend, type WireResult, type WriterAnswer, type WriterChannel } from './writer-channel.js';
import { encodeAppend } from './wire.js';

export interface SqliteEventStoreOptions {
  /** The database file; its folder also holds the process lock. */
  readonly path: string;
  /** Lifts stored data of older event versions; identity by default. */
  readonly upcast?: (type: string, version: number, data: unknown) => unknown;
  /** How many recent events live subscribers are served from memory. */
  readonly recentKeep?: number;
}

interface PendingAppend {
  /** Size of the append as sent to the writer. */
  bytes?: number;
  readonly tenant: Tenant;
  readonly stream: string;
  readonly events: readonly EventToAppend[];
  readonly expected: ExpectedRevision;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

/** A row as `SELECT ${COLUMNS}` returns it in raw mode (arrays are cheaper to build than objects). */
type EventRow = [position: number, tenant: string, stream: string, revision: number, event_id: string, type: string, version: number, data: string, metadata: string];

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS events (
    position    INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant      TEXT    NOT NULL,
    stream      TEXT    NOT NULL,
    revision    INTEGER NOT NULL,
    event_id    TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    data        TEXT    NOT NULL,
    metadata    TEXT    NOT NULL,
    recorded_at TEXT    NOT NULL,
    chain       TEXT
  );
  CREATE TABLE IF NOT EXISTS chain_heads (
    tenant   TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    chain    TEXT    NOT NULL
  );
  CREATE UNIQUE INDEX IF NOT EXISTS events_by_stream ON events (tenant, stream, revision);
  CREATE UNIQUE INDEX IF NOT EXISTS events_by_id ON events (event_id);
  CREATE INDEX IF NOT EXISTS events_by_tenant ON events (tenant, position);
  CREATE INDEX IF NOT EXISTS events_by_type ON events (tenant, type, position);
`;

const COLUMNS = 'position, tenant, stream, revision, event_id, type, version, data, metadata';
/** A row's position and the bytes of its data and metadata, for cutting a page by bytes. */
const SIZE_COLUMNS = 'position, octet_length(data) + octet_length(metadata)';

interface FeedStatements {
  readonly rows: Database.Statement;
  readonly lean: Database.Statement;
  readonly sizes: Database.Statement;
}

/** The same, with the bulky payloads left out (see `FeedQuery.withoutPayloads`): SQLite's JSON functions cut them before JavaScript parses anything. */
const LEAN_COLUMNS = `position, tenant, stream, revision, event_id, type, version,
  CASE type WHEN 'CommandAccepted' THEN json_set(data, '$.params', json('{}')) WHEN 'TaskSucceeded' THEN json_set(data, '$.result', json('null')) ELSE data END AS data,
  metadata`;

/**
 * The embedded event store: one SQLite file in WAL mode with `synchronous=FULL`, so an append
 * is on disk when its promise resolves. A worker thread owns the writing connection; the
 * appends of one turn of the event loop travel as one batch, and batches that reach it while
 * it commits are group-committed next, in one transaction (one fsync). Reads use a connection
 * of their own, which only ever sees committed, synced transactions.
 *
 * @example
 *   const store = await openSqliteEventStore({ path: './data/nexus.db' });
 */
export async function openSqliteEventStore(options: SqliteEventStoreOptions): Promise<EventStore> {
  mkdirSync(dirname(options.path), { recursive: true });
  const lock = acquireProcessLock(join(dirname(options.path), 'nexus.lock'));
  try {
    // The writer creates the schema the reader needs, so it starts first and answers later.
    const answers: { to?: SqliteEventStore } = {};
    const writer = await threadedWriter(
      options.path,
      SCHEMA,
      (answer: WriterAnswer) => answers.to?.onAnswer(answer),
      (error) => answers.to?.breakDown(error),
    );
    answers.to = new SqliteEventStore(options, writer, lock);
    return answers.to;
  } catch (error) {
    lock.close();
    throw error;
  }
}

/** One process owns a data folder: a second NEXUS on it fails instead of racing the first. */
function acquireProcessLock(path: string): Database.Database {
  const lock = new Database(path, { timeout: 0 });
  try {
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec(`CREATE TABLE IF NOT EXISTS owner (pid INTEGER); DELETE FROM owner; INSERT INTO owner VALUES (${process.pid});`);
    return lock;
  } catch (cause) {
    lock.close();
    throw new StoreUnavailableError(`${dirname(path)} is in use by another NEXUS process`, { cause });
  }
}

class SqliteEventStore implements EventStore {
  private readonly reader: Database.Database;
  private readonly upcast: (type: string, version: number, data: unknown) => unknown;
  private readonly recent: RecentEvents;
  private readonly commits = new CommitSignal();
  private readonly tenantOf = tenantCache();
  private readonly typedStatements = new Map<string, FeedStatements>();
  private readonly sql;
  private queue: PendingAppend[] = [];
  /** Batches sent to the writer and not answered yet, by id, in the order sent. */
  private readonly inFlight = new Map<number, PendingAppend[]>();
  private sendScheduled = false;
  private nextBatchId = 1;
  private head: number;
  private state: 'open' | 'closing' | 'closed' | 'broken' = 'open';
  private drained: (() => void) | undefined;

  private readonly path: string;

  constructor(
    options: SqliteEventStoreOptions,
    private readonly writer: WriterChannel,
    private readonly lock: Database.Database,
  ) {
    this.path = options.path;
    this.reader = new Database(options.path, { readonly: true });
    this.reader.pragma('cache_size = -65536');
    this.upcast = options.upcast ?? ((_type, _version, data) => data);
    this.sql = {
      stream: this.reader.prepare(`SELECT ${COLUMNS} FROM events WHERE tenant = ? AND stream = ? ORDER BY revision`).raw(),
      positions: this.reader.prepare(`SELECT ${COLUMNS} FROM events WHERE position >= ? AND position <= ? ORDER BY position`).raw(),
      all: this.feedStatements('position > ? AND position <= ?'),
      tenant: this.feedStatements('tenant = ? AND position > ? AND position <= ?'),
      head: this.reader.prepare('SELECT COALESCE(MAX(position), 0) FROM events').pluck(),
    };
    this.head = this.sql.head.get() as number;
    this.recent = new RecentEvents(options.recentKeep ?? 10_000);
    this.recent.startAfter(this.head);
  }

  append(tenant: Tenant, stream: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    if (this.state !== 'open') return Promise.reject(new StoreUnavailableError(`the event store is ${this.state}`));
    return new Promise((resolve, reject) => {
      this.queue.push({ tenant, stream, events, expected, resolve, reject });
      if (!this.sendScheduled) {
        this.sendScheduled = true;
        // An idle writer gets the append at once; a busy one gets, in one message, all that
        // the rest of this turn of the event loop appends.
        if (this.inFlight.size === 0) queueMicrotask(() => this.send());
        else setImmediate(() => this.send());
      }
    });
  }

  async readStream(tenant: Tenant, stream: string): Promise<RecordedEvent[]> {
    this.assertReadable();
    return (this.sql.stream.all(tenantKey(tenant), stream) as EventRow[]).map((row) => this.toRecorded(row));
  }

  async readFeed(query: FeedQuery): Promise<RecordedEvent[]> {
    this.assertReadable();
    return this.readFeedNow(query);
  }

  async headPosition(): Promise<number> {
    this.assertReadable();
    return this.head;
  }

  /** Off the event loop: a worker thread reads the tenant's rows on a connection of its own. */
  async verifyChain(tenant: Tenant): Promise<ChainVerification> {
    this.assertReadable();
    const answer = await new Promise<{ result?: ChainVerification; failure?: string }>((resolve, reject) => {
      const worker = new Worker(new URL('./verify.worker.js', import.meta.url), { workerData: { path: this.path, tenant: tenantKey(tenant) } });
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', () => resolve({ failure: 'the verification thread stopped' }));
    });
    if (answer.result) return answer.result;
    throw new StoreUnavailableError(`the hash chain could not be verified: ${answer.failure ?? 'no answer'}`);
  }

  async *subscribe(options: SubscribeOptions): AsyncIterable<readonly RecordedEvent[]> {
    const limit = options.batchSize ?? 500;
    let after = options.after;
    while (this.state === 'open' && !options.signal?.aborted) {
      // Read and, when caught up, wait for the next commit in one synchronous step: no commit
      // can be announced between the two, so nothing is missed.
      const batch = this.readFeedNow({ tenant: options.tenant, after, limit });
      if (batch.length > 0) {
        after = batch[batch.length - 1]!.position;
        yield batch;
        continue;
      }
      await this.commits.next(options.signal);
    }
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.send();
    if (this.inFlight.size > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    this.commits.fire();
    this.state = 'closed';
    await this.writer.close();
    this.reader.close();
    this.lock.close();
  }

  private send(): void {
    this.sendScheduled = false;
    if (this.queue.length === 0) return;
    const batch: PendingAppend[] = [];
    // One string crosses to the writer thread far faster than a graph of objects. Each event's
    // data is serialized here, once, as it is stored; its length is also the memory the events
    // will take in `recent`.
    const parts: string[] = [];
    for (const pending of this.queue) {
      const { tenant, stream, expected, events } = pending;
      let wire: WireAppend['events'];
      try {
        wire = events.map(({ event_id, type, version, data, metadata }) => ({ event_id, type, version, data: JSON.stringify(data) ?? 'null', metadata: JSON.stringify(metadata) }));
      } catch (error) {
        // Data JSON cannot hold (a cycle, a BigInt, nesting past the stack) fails its own append only.
        pending.reject(new UnstorableEventError(`the events of ${stream} cannot be stored as JSON`, { cause: error }));
        continue;
      }
      pending.bytes = wire.reduce((bytes, event) => bytes + event.data.length + event.metadata.length, 0);
      parts.push(encodeAppend({ tenant: tenantKey(tenant), stream, expected, events: wire }));
      batch.push(pending);
    }
    this.queue = [];
    if (batch.length === 0) return;
    const id = this.nextBatchId++;
    this.inFlight.set(id, batch);
    this.writer.send(id, parts.join(''));
  }

  onAnswer(answer: WriterAnswer): void {
    const batches = answer.ids.map((id) => {
      const batch = this.inFlight.get(id) ?? [];
      this.inFlight.delete(id);
      return batch;
    });
    if ('failure' in answer) {
      const error = new StoreUnavailableError(`the event store could not commit: ${answer.failure}`);
      for (const pending of batches.flat()) pending.reject(error);
    } else {
      this.settle(batches.flat(), answer.results.flat());
    }
    if (this.inFlight.size === 0) this.drained?.();
  }

  private settle(batch: PendingAppend[], results: WireResult[]): void {
    let written = 0;
    const outcomes = batch.map((pending, i): AppendResult | Error => {
      const result = results[i]!;
      if (result.kind === 'conflict') {
        return new ConcurrencyError(pending.stream, pending.expected, result.actual === -1 ? 'no_stream' : result.actual, result.detail && `stream ${pending.stream}: ${result.detail}`);
      }
      if (result.kind === 'duplicate') return { revision: result.revision, events: this.readPositions(result.positions) };
      const recorded = pending.events.map(
        (event, j): RecordedEvent =>
          typedEvent({
          position: result.positions[j]!,
          tenant: this.tenantOf(tenantKey(pending.tenant)),
          stream: pending.stream,
          revision: result.revision - pending.events.length + 1 + j,
          event_id: event.event_id,
          type: event.type,
          version: event.version,
          data: event.data,
          metadata: event.metadata,
        }),
      );
      if (recorded.length > 0) {
        // Appends commit in order: each one's events follow the previous one's.
        this.recent.push(recorded, pending.bytes ?? 0);
        this.head = recorded[recorded.length - 1]!.position;
        written += recorded.length;
      }
      return { revision: result.revision, events: recorded };
    });
    batch.forEach((pending, i) => {
      const outcome = outcomes[i]!;
      if (outcome instanceof Error) pending.reject(outcome);
      else pending.resolve(outcome);
    });
    if (written > 0) this.commits.fire();
  }

  breakDown(error: unknown): void {
    if (this.state === 'closed' || this.state === 'broken') return;
    this.state = 'broken';
    const failure = new StoreUnavailableError('the event store writer failed', { cause: error });
    for (const pending of [...[...this.inFlight.values()].flat(), ...this.queue]) pending.reject(failure);
    this.inFlight.clear();
    this.queue = [];
    this.commits.fire();
    this.drained?.();
  }

  private readPositions(positions: number[]): RecordedEvent[] {
    const rows = this.sql.positions.all(positions[0], positions[positions.length - 1]) as EventRow[];
    const wanted = new Set(positions);
    return rows.filter((row) => wanted.has(row[0])).map((row) => this.toRecorded(row));
  }

  private readFeedNow(query: FeedQuery): RecordedEvent[] {
    const upTo = query.upTo ?? Number.MAX_SAFE_INTEGER;
    const maxBytes = query.maxBytes ?? PAGE_BYTES;
    const types = query.types && new Set(query.types);
    const fromMemory = this.recent.read(query.after, upTo, query.limit, maxBytes, query.tenant && tenantKey(query.tenant), types);
    if (fromMemory) return fromMemory;
    if (query.types) return this.readTypes(query, upTo, maxBytes, query.types);
    const statements = query.tenant ? this.sql.tenant : this.sql.all;
    const args = query.tenant ? [tenantKey(query.tenant), query.after] : [query.after];
    return this.page(statements, args, upTo, query.limit, maxBytes, query.withoutPayloads === true);
  }

  /** The three statements of a feed query: the rows, the rows without payloads, the rows' sizes only. */
  private feedStatements(where: string): FeedStatements {
    const query = (columns: string) => this.reader.prepare(`SELECT ${columns} FROM events WHERE ${where} ORDER BY position LIMIT ?`).raw();
    return { rows: query(COLUMNS), lean: query(LEAN_COLUMNS), sizes: query(SIZE_COLUMNS) };
  }

  /**
   * A page within `maxBytes`: the sizes of the rows are read first (SQLite measures them
   * without handing their text over), then only the rows that fit.
   */
  private page(statements: FeedStatements, args: unknown[], upTo: number, limit: number, maxBytes: number, lean: boolean): RecordedEvent[] {
    const sizes = statements.sizes.all(...args, upTo, limit) as Array<[position: number, bytes: number]>;
    if (sizes.length === 0) return [];
    let bytes = 0;
    let kept = 0;
    while (kept < sizes.length && (kept === 0 || bytes < maxBytes)) bytes += sizes[kept++]![1];
    const rows = (lean ? statements.lean : statements.rows).all(...args, sizes[kept - 1]![0], kept) as EventRow[];
    return rows.map((row) => this.toRecorded(row));
  }

  /** The feed filtered by type: the filter runs in SQL, so skipped rows are never parsed. */
  private readTypes(query: FeedQuery, upTo: number, maxBytes: number, types: readonly string[]): RecordedEvent[] {
    if (types.length === 0) return [];
    const placeholders = types.map(() => '?').join(', ');
    const where = `${query.tenant ? 'tenant = ? AND ' : ''}type IN (${placeholders}) AND position > ? AND position <= ?`;
    let statements = this.typedStatements.get(where);
    if (!statements) {
      statements = this.feedStatements(where);
      this.typedStatements.set(where, statements);
    }
    const tenant = query.tenant ? [tenantKey(query.tenant)] : [];
    return this.page(statements, [...tenant, ...types, query.after], upTo, query.limit, maxBytes, false);
  }

  private toRecorded([position, tenant, stream, revision, event_id, type, version, data, metadata]: EventRow): RecordedEvent {
    return typedEvent({
      position,
      tenant: this.tenantOf(tenant),
      stream,
      revision,
      event_id,
      type,
      version,
      data: this.upcast(type, version, JSON.parse(data)),
      metadata: JSON.parse(metadata) as EventMetadata,
    });
  }


  private assertReadable(): void {
    if (this.state === 'closed' || this.state === 'broken') throw new StoreUnavailableError(`the event store is ${this.state}`);
  }
}
