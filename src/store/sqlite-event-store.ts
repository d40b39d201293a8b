import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EventMetadata, RecordedEvent } from '../events/envelope.js';
import { tenantFromKey, tenantKey, type Tenant } from '../events/tenant.js';
import { CommitSignal } from './commit-signal.js';
import {
  ConcurrencyError,
  StoreUnavailableError,
  type AppendResult,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type FeedQuery,
  type SubscribeOptions,
} from './event-store.js';
import { RecentEvents } from './recent-events.js';

export interface SqliteEventStoreOptions {
  /** The database file; its folder also holds the process lock. */
  readonly path: string;
  /** Lifts stored data of older event versions; identity by default. */
  readonly upcast?: (type: string, version: number, data: unknown) => unknown;
  /** How many recent events live subscribers are served from memory. */
  readonly recentKeep?: number;
}

interface PendingAppend {
  readonly tenant: Tenant;
  readonly stream: string;
  readonly events: readonly EventToAppend[];
  readonly expected: ExpectedRevision;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

type WireResult =
  | { kind: 'appended' | 'duplicate'; revision: number; positions: number[] }
  | { kind: 'conflict'; actual: number; detail?: string };

type WriterMessage =
  | { type: 'ready' | 'closed' }
  | { type: 'appended'; id: number; results: WireResult[] }
  | { type: 'failed'; id: number; message: string };

interface EventRow {
  position: number;
  tenant: string;
  stream: string;
  revision: number;
  event_id: string;
  type: string;
  version: number;
  data: string;
  metadata: string;
}

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
    recorded_at TEXT    NOT NULL
  );
  CREATE UNIQUE INDEX IF NOT EXISTS events_by_stream ON events (tenant, stream, revision);
  CREATE UNIQUE INDEX IF NOT EXISTS events_by_id ON events (event_id);
  CREATE INDEX IF NOT EXISTS events_by_tenant ON events (tenant, position);
`;

const COLUMNS = 'position, tenant, stream, revision, event_id, type, version, data, metadata';

/**
 * The embedded event store: one SQLite file in WAL mode with `synchronous=FULL`, so an append
 * is on disk when its promise resolves. A worker thread owns the writing connection; appends
 * made while it commits are group-committed next, in one transaction (one fsync). Reads use a
 * connection of their own, which only ever sees committed, synced transactions.
 *
 * @example
 *   const store = await openSqliteEventStore({ path: './data/nexus.db' });
 */
export async function openSqliteEventStore(options: SqliteEventStoreOptions): Promise<EventStore> {
  mkdirSync(dirname(options.path), { recursive: true });
  const lock = acquireProcessLock(join(dirname(options.path), 'nexus.lock'));
  try {
    const writer = new Worker(new URL('./sqlite-writer.worker.js', import.meta.url), {
      workerData: { path: options.path, schema: SCHEMA },
    });
    await new Promise<void>((resolve, reject) => {
      writer.once('message', () => resolve());
      writer.once('error', reject);
    });
    return new SqliteEventStore(options, writer, lock);
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
  private readonly tenants = new Map<string, Tenant>();
  private readonly sql;
  private queue: PendingAppend[] = [];
  private inFlight: { id: number; batch: PendingAppend[] } | undefined;
  private sendScheduled = false;
  private nextBatchId = 1;
  private head: number;
  private state: 'open' | 'closing' | 'closed' | 'broken' = 'open';
  private drained: (() => void) | undefined;

  constructor(
    options: SqliteEventStoreOptions,
    private readonly writer: Worker,
    private readonly lock: Database.Database,
  ) {
    this.reader = new Database(options.path, { readonly: true });
    this.upcast = options.upcast ?? ((_type, _version, data) => data);
    this.sql = {
      stream: this.reader.prepare(`SELECT ${COLUMNS} FROM events WHERE tenant = ? AND stream = ? ORDER BY revision`),
      positions: this.reader.prepare(`SELECT ${COLUMNS} FROM events WHERE position >= ? AND position <= ? ORDER BY position`),
      feedAll: this.reader.prepare(`SELECT ${COLUMNS} FROM events WHERE position > ? AND position <= ? ORDER BY position LIMIT ?`),
      feedTenant: this.reader.prepare(
        `SELECT ${COLUMNS} FROM events WHERE tenant = ? AND position > ? AND position <= ? ORDER BY position LIMIT ?`,
      ),
      head: this.reader.prepare('SELECT COALESCE(MAX(position), 0) FROM events').pluck(),
    };
    this.head = this.sql.head.get() as number;
    this.recent = new RecentEvents(options.recentKeep ?? 10_000);
    this.recent.startAfter(this.head);
    writer.on('message', (message: WriterMessage) => this.onWriterMessage(message));
    writer.on('error', (error) => this.breakDown(error));
    writer.on('exit', () => this.breakDown(new Error('the writer thread stopped')));
  }

  append(tenant: Tenant, stream: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    if (this.state !== 'open') return Promise.reject(new StoreUnavailableError(`the event store is ${this.state}`));
    return new Promise((resolve, reject) => {
      this.queue.push({ tenant, stream, events, expected, resolve, reject });
      if (!this.inFlight && !this.sendScheduled) {
        this.sendScheduled = true;
        // Let the rest of this turn of the event loop add its appends to the same commit.
        setImmediate(() => this.send());
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
    if (this.inFlight || this.queue.length > 0) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        if (!this.inFlight) this.send();
      });
    }
    this.commits.fire();
    await new Promise<void>((resolve) => {
      this.writer.once('message', () => resolve());
      this.writer.postMessage({ type: 'close' });
    });
    this.state = 'closed';
    await this.writer.terminate();
    this.reader.close();
    this.lock.close();
  }

  private send(): void {
    this.sendScheduled = false;
    if (this.inFlight || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.inFlight = { id: this.nextBatchId++, batch };
    const appends = batch.map(({ tenant, stream, expected, events }) => ({
      tenant: tenantKey(tenant),
      stream,
      expected,
      events: events.map((e) => ({
        event_id: e.event_id,
        type: e.type,
        version: e.version,
        data: JSON.stringify(e.data),
        metadata: JSON.stringify(e.metadata),
      })),
    }));
    this.writer.postMessage({ type: 'append', id: this.inFlight.id, appends });
  }

  private onWriterMessage(message: WriterMessage): void {
    if (message.type !== 'appended' && message.type !== 'failed') return;
    const batch = this.inFlight?.batch ?? [];
    this.inFlight = undefined;
    if (message.type === 'failed') {
      const error = new StoreUnavailableError(`the event store could not commit: ${message.message}`);
      for (const pending of batch) pending.reject(error);
    } else {
      this.settle(batch, message.results);
    }
    if (this.queue.length > 0) this.send();
    else this.drained?.();
  }

  private settle(batch: PendingAppend[], results: WireResult[]): void {
    const written: RecordedEvent[] = [];
    const outcomes = batch.map((pending, i): AppendResult | Error => {
      const result = results[i]!;
      if (result.kind === 'conflict') {
        return new ConcurrencyError(pending.stream, pending.expected, result.actual === -1 ? 'no_stream' : result.actual, result.detail && `stream ${pending.stream}: ${result.detail}`);
      }
      if (result.kind === 'duplicate') return { revision: result.revision, events: this.readPositions(result.positions) };
      const recorded = pending.events.map(
        (event, j): RecordedEvent => ({
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
      written.push(...recorded);
      return { revision: result.revision, events: recorded };
    });
    if (written.length > 0) {
      this.head = written[written.length - 1]!.position;
      this.recent.push(written);
    }
    batch.forEach((pending, i) => {
      const outcome = outcomes[i]!;
      if (outcome instanceof Error) pending.reject(outcome);
      else pending.resolve(outcome);
    });
    if (written.length > 0) this.commits.fire();
  }

  private breakDown(error: unknown): void {
    if (this.state === 'closed' || this.state === 'broken') return;
    this.state = 'broken';
    const failure = new StoreUnavailableError('the event store writer failed', { cause: error });
    for (const pending of [...(this.inFlight?.batch ?? []), ...this.queue]) pending.reject(failure);
    this.inFlight = undefined;
    this.queue = [];
    this.commits.fire();
  }

  private readPositions(positions: number[]): RecordedEvent[] {
    const rows = this.sql.positions.all(positions[0], positions[positions.length - 1]) as EventRow[];
    const wanted = new Set(positions);
    return rows.filter((row) => wanted.has(row.position)).map((row) => this.toRecorded(row));
  }

  private readFeedNow(query: FeedQuery): RecordedEvent[] {
    const upTo = query.upTo ?? Number.MAX_SAFE_INTEGER;
    const fromMemory = this.recent.read(query.after, upTo, query.limit, query.tenant && tenantKey(query.tenant));
    if (fromMemory) return fromMemory;
    const rows = query.tenant
      ? this.sql.feedTenant.all(tenantKey(query.tenant), query.after, upTo, query.limit)
      : this.sql.feedAll.all(query.after, upTo, query.limit);
    return (rows as EventRow[]).map((row) => this.toRecorded(row));
  }

  private toRecorded(row: EventRow): RecordedEvent {
    return {
      position: row.position,
      tenant: this.tenantOf(row.tenant),
      stream: row.stream,
      revision: row.revision,
      event_id: row.event_id,
      type: row.type,
      version: row.version,
      data: this.upcast(row.type, row.version, JSON.parse(row.data)),
      metadata: JSON.parse(row.metadata) as EventMetadata,
    };
  }

  private tenantOf(key: string): Tenant {
    let tenant = this.tenants.get(key);
    if (!tenant) {
      tenant = tenantFromKey(key);
      this.tenants.set(key, tenant);
    }
    return tenant;
  }

  private assertReadable(): void {
    if (this.state === 'closed' || this.state === 'broken') throw new StoreUnavailableError(`the event store is ${this.state}`);
  }
}
