import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { EventMetadata, RecordedEvent } from '../events/envelope.js';
import { tenantFromKey, tenantKey, type Tenant } from '../events/tenant.js';
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
import { CommitSignal } from './commit-signal.js';
import { RecentEvents } from './recent-events.js';

export interface SqliteEventStoreOptions {
  /** Database file; `:memory:` for a throw-away store. */
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
 * The embedded event store: one SQLite file in WAL mode, `synchronous=FULL`, so an append is
 * on disk when its promise resolves. Appends made in the same turn of the event loop are
 * group-committed: one transaction (one fsync) for all of them, each in its own savepoint so
 * one conflict fails alone.
 *
 * @example
 *   const store = openSqliteEventStore({ path: './data/nexus.db' });
 */
export function openSqliteEventStore(options: SqliteEventStoreOptions): EventStore {
  return new SqliteEventStore(options);
}

class SqliteEventStore implements EventStore {
  private readonly db: Database.Database;
  private readonly upcast: (type: string, version: number, data: unknown) => unknown;
  private readonly recent: RecentEvents;
  private readonly commits = new CommitSignal();
  private readonly tenants = new Map<string, Tenant>();
  private queue: PendingAppend[] = [];
  private flushScheduled = false;
  private closed = false;
  private head: number;
  private readonly sql;

  constructor(options: SqliteEventStoreOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    // One process owns the log: a second NEXUS on the same data dir fails instead of racing.
    this.db.pragma('locking_mode = EXCLUSIVE');
    this.db.exec(SCHEMA);
    this.upcast = options.upcast ?? ((_type, _version, data) => data);
    this.recent = new RecentEvents(options.recentKeep ?? 10_000);
    this.sql = {
      insert: this.db.prepare(
        `INSERT INTO events (tenant, stream, revision, event_id, type, version, data, metadata, recorded_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      lastRevision: this.db.prepare('SELECT MAX(revision) AS revision FROM events WHERE tenant = ? AND stream = ?').pluck(),
      byEventId: this.db.prepare(`SELECT ${COLUMNS} FROM events WHERE event_id = ?`),
      stream: this.db.prepare(`SELECT ${COLUMNS} FROM events WHERE tenant = ? AND stream = ? ORDER BY revision`),
      feedAll: this.db.prepare(`SELECT ${COLUMNS} FROM events WHERE position > ? AND position <= ? ORDER BY position LIMIT ?`),
      feedTenant: this.db.prepare(
        `SELECT ${COLUMNS} FROM events WHERE tenant = ? AND position > ? AND position <= ? ORDER BY position LIMIT ?`,
      ),
      head: this.db.prepare('SELECT COALESCE(MAX(position), 0) FROM events').pluck(),
    };
    this.head = this.sql.head.get() as number;
    this.recent.startAfter(this.head);
  }

  append(tenant: Tenant, stream: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('the event store is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ tenant, stream, events, expected, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  async readStream(tenant: Tenant, stream: string): Promise<RecordedEvent[]> {
    this.assertOpen();
    return (this.sql.stream.all(tenantKey(tenant), stream) as EventRow[]).map((row) => this.toRecorded(row));
  }

  async readFeed(query: FeedQuery): Promise<RecordedEvent[]> {
    this.assertOpen();
    return this.readFeedNow(query);
  }

  async headPosition(): Promise<number> {
    this.assertOpen();
    return this.head;
  }

  async *subscribe(options: SubscribeOptions): AsyncIterable<readonly RecordedEvent[]> {
    const limit = options.batchSize ?? 500;
    let after = options.after;
    while (!this.closed && !options.signal?.aborted) {
      // Read and, when caught up, wait for the next commit in one synchronous step: no commit
      // can land between the two, so nothing is missed.
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
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.commits.fire();
    this.db.close();
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

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const outcomes: Array<AppendResult | Error> = [];
    const written: RecordedEvent[] = [];
    try {
      this.db.transaction(() => {
        for (const pending of batch) outcomes.push(this.applyInSavepoint(pending, written));
      })();
    } catch (cause) {
      const error = new StoreUnavailableError('the event store could not commit', { cause });
      for (const pending of batch) pending.reject(error);
      return;
    }
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

  private applyInSavepoint(pending: PendingAppend, written: RecordedEvent[]): AppendResult | Error {
    const mark = written.length;
    try {
      return this.db.transaction(() => this.apply(pending, written))();
    } catch (error) {
      written.length = mark;
      if (error instanceof ConcurrencyError) return error;
      throw error;
    }
  }

  private apply({ tenant, stream, events, expected }: PendingAppend, written: RecordedEvent[]): AppendResult {
    const key = tenantKey(tenant);
    const duplicate = this.findDuplicate(key, stream, events);
    if (duplicate) return duplicate;
    const last = this.sql.lastRevision.get(key, stream) as number | null;
    const actual = last ?? -1;
    if (!matches(expected, actual)) throw new ConcurrencyError(stream, expected, last ?? 'no_stream');
    const recordedAt = new Date().toISOString();
    const recorded = events.map((event, i): RecordedEvent => {
      const revision = actual + 1 + i;
      const { lastInsertRowid } = this.sql.insert.run(
        key,
        stream,
        revision,
        event.event_id,
        event.type,
        event.version,
        JSON.stringify(event.data),
        JSON.stringify(event.metadata),
        recordedAt,
      );
      return {
        position: Number(lastInsertRowid),
        tenant: this.tenantOf(key),
        stream,
        revision,
        event_id: event.event_id,
        type: event.type,
        version: event.version,
        data: event.data,
        metadata: event.metadata,
      };
    });
    written.push(...recorded);
    return { revision: actual + events.length, events: recorded };
  }

  /** The same event ids, in the same stream and order, mean a retried append: answer it again. */
  private findDuplicate(key: string, stream: string, events: readonly EventToAppend[]): AppendResult | undefined {
    if (events.length === 0) return undefined;
    const rows = events.map((event) => this.sql.byEventId.get(event.event_id) as EventRow | undefined);
    if (rows.every((row) => row === undefined)) return undefined;
    const first = rows[0];
    const sameAppend =
      first !== undefined &&
      rows.every((row, i) => row !== undefined && row.tenant === key && row.stream === stream && row.revision === first.revision + i);
    if (!sameAppend) {
      throw new ConcurrencyError(stream, 'any', 'no_stream', `stream ${stream}: event ids already used by another append`);
    }
    return { revision: first.revision + events.length - 1, events: (rows as EventRow[]).map((row) => this.toRecorded(row)) };
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

  private assertOpen(): void {
    if (this.closed) throw new StoreUnavailableError('the event store is closed');
  }
}

function matches(expected: ExpectedRevision, actual: number): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === -1;
  if (expected === 'stream_exists') return actual >= 0;
  return expected === actual;
}
