import Database from 'better-sqlite3';
import type { EventMetadata, RecordedEvent } from '../../events/envelope.js';
import { tenantCache, tenantKey } from '../../events/tenant.js';
import { typedEvent, type FeedQuery } from '../event-store.js';
import { COLUMNS, LEAN_COLUMNS, SIZE_COLUMNS, type EventRow } from './schema.js';

type Upcast = (type: string, version: number, data: unknown) => unknown;

interface FeedStatements {
  readonly rows: Database.Statement;
  readonly lean: Database.Statement;
  readonly sizes: Database.Statement;
}

/**
 * The reading connection of the embedded store: it only ever sees committed, synced
 * transactions, and turns rows into upcast `RecordedEvent`s.
 *
 * @example
 *   const reader = new LogReader('./data/nexus.db', upcast);
 *   const events = reader.stream(tenantKey(tenant), 'command-42');
 */
export class LogReader {
  /** The tenant of a key, one object per tenant. */
  readonly tenantOf = tenantCache();
  private readonly db: Database.Database;
  private readonly typedStatements = new Map<string, FeedStatements>();
  private readonly sql;

  constructor(
    path: string,
    private readonly upcast: Upcast = (_type, _version, data) => data,
  ) {
    this.db = new Database(path, { readonly: true });
    this.db.pragma('cache_size = -65536');
    this.sql = {
      stream: this.db.prepare(`SELECT ${COLUMNS} FROM events WHERE tenant = ? AND stream = ? ORDER BY revision`).raw(),
      positions: this.db
        .prepare(`SELECT ${COLUMNS} FROM events WHERE position >= ? AND position <= ? ORDER BY position`)
        .raw(),
      all: this.feedStatements('position > ? AND position <= ?'),
      tenant: this.feedStatements('tenant = ? AND position > ? AND position <= ?'),
      head: this.db.prepare('SELECT COALESCE(MAX(position), 0) FROM events').pluck(),
    };
  }

  /** Position of the last committed event (0 for an empty log). */
  head(): number {
    return this.sql.head.get() as number;
  }

  /** `tenant`: the tenant's key. */
  stream(tenant: string, stream: string): RecordedEvent[] {
    return (this.sql.stream.all(tenant, stream) as EventRow[]).map((row) => this.toRecorded(row));
  }

  /** The events at `positions`, given in increasing order. */
  atPositions(positions: readonly number[]): RecordedEvent[] {
    const rows = this.sql.positions.all(positions[0], positions[positions.length - 1]) as EventRow[];
    const wanted = new Set(positions);
    return rows.filter((row) => wanted.has(row[0])).map((row) => this.toRecorded(row));
  }

  /** A page of the feed, `upTo` and `maxBytes` already defaulted. */
  feed(query: FeedQuery, upTo: number, maxBytes: number): RecordedEvent[] {
    if (query.types) return this.readTypes(query, upTo, maxBytes, query.types);
    const statements = query.tenant ? this.sql.tenant : this.sql.all;
    const args = query.tenant ? [tenantKey(query.tenant), query.after] : [query.after];
    return this.page(statements, args, upTo, query.limit, maxBytes, query.withoutPayloads === true);
  }

  close(): void {
    this.db.close();
  }

  /** The three statements of a feed query: the rows, the rows without payloads, the rows' sizes only. */
  private feedStatements(where: string): FeedStatements {
    const query = (columns: string) =>
      this.db.prepare(`SELECT ${columns} FROM events WHERE ${where} ORDER BY position LIMIT ?`).raw();
    return { rows: query(COLUMNS), lean: query(LEAN_COLUMNS), sizes: query(SIZE_COLUMNS) };
  }

  /**
   * A page within `maxBytes`: the sizes of the rows are read first (SQLite measures them
   * without handing their text over), then only the rows that fit.
   */
  private page(
    statements: FeedStatements,
    args: unknown[],
    upTo: number,
    limit: number,
    maxBytes: number,
    lean: boolean,
  ): RecordedEvent[] {
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

  private toRecorded([
    position,
    tenant,
    stream,
    revision,
    event_id,
    type,
    version,
    data,
    metadata,
  ]: EventRow): RecordedEvent {
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
}
