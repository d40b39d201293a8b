// The writing side of the embedded store: the only connection that writes, with
// synchronous=FULL so a commit returns once it is on disk. Plain JavaScript, because a worker
// thread loads its files as Node does, without the TypeScript loader of its parent.
import Database from 'better-sqlite3';

/**
 * @typedef {{ event_id: string, type: string, version: number, data: unknown, metadata: unknown }} WireEvent
 * @typedef {{ tenant: string, stream: string, expected: string | number, events: WireEvent[] }} WireAppend
 * @typedef {{ kind: 'appended', revision: number, positions: number[] }
 *   | { kind: 'duplicate', revision: number, positions: number[] }
 *   | { kind: 'conflict', actual: number, detail?: string }} WireResult
 * @typedef {{ position: number, tenant: string, stream: string, revision: number }} Row
 */

/** @param {string | number} expected @param {number} actual */
function matches(expected, actual) {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === -1;
  if (expected === 'stream_exists') return actual >= 0;
  return expected === actual;
}

/**
 * @param {string} path
 * @param {string} schema
 * @returns {{ commit: (batches: WireAppend[][]) => WireResult[][], close: () => void }}
 */
export function openWriter(path, schema) {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('cache_size = -65536');
  db.exec(schema);

  const sql = {
    insert: db.prepare(
      `INSERT INTO events (tenant, stream, revision, event_id, type, version, data, metadata, recorded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    lastRevision: db.prepare('SELECT MAX(revision) FROM events WHERE tenant = ? AND stream = ?').pluck(),
    byEventId: db.prepare('SELECT position, tenant, stream, revision FROM events WHERE event_id = ?'),
  };

  /**
   * Checks read before anything is written, so a refused append leaves nothing to undo.
   * @param {WireAppend} append
   * @param {string} recordedAt
   * @returns {WireResult}
   */
  function apply(append, recordedAt) {
    const { tenant, stream, expected, events } = append;
    if (events.length > 0) {
      if (new Set(events.map((e) => e.event_id)).size !== events.length) {
        return { kind: 'conflict', actual: -1, detail: 'the same event id twice in one append' };
      }
      const rows = events.map((e) => /** @type {Row | undefined} */ (sql.byEventId.get(e.event_id)));
      if (rows.some((row) => row !== undefined)) {
        const first = rows[0];
        const sameAppend =
          first !== undefined &&
          rows.every((row, i) => row !== undefined && row.tenant === tenant && row.stream === stream && row.revision === first.revision + i);
        if (!sameAppend) return { kind: 'conflict', actual: -1, detail: 'event ids already used by another append' };
        return { kind: 'duplicate', revision: first.revision + events.length - 1, positions: rows.map((row) => /** @type {Row} */ (row).position) };
      }
    }
    const last = /** @type {number | null} */ (sql.lastRevision.get(tenant, stream));
    const actual = last ?? -1;
    if (!matches(expected, actual)) return { kind: 'conflict', actual };
    const positions = events.map((e, i) =>
      Number(
        sql.insert.run(tenant, stream, actual + 1 + i, e.event_id, e.type, e.version, JSON.stringify(e.data), JSON.stringify(e.metadata), recordedAt)
          .lastInsertRowid,
      ),
    );
    return { kind: 'appended', revision: actual + events.length, positions };
  }

  const commit = db.transaction((/** @type {WireAppend[][]} */ batches) => {
    const recordedAt = new Date().toISOString();
    return batches.map((appends) => appends.map((append) => apply(append, recordedAt)));
  });

  return { commit, close: () => db.close() };
}
