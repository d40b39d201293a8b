// The writing side of the embedded store: the only connection that writes, with
// synchronous=FULL so a commit returns once it is on disk. Plain JavaScript, because a worker
// thread loads its files as Node does, without the TypeScript loader of its parent.
import Database from 'better-sqlite3';
import { checkAppend } from '../append-checks.js';
import { chainLink, GENESIS } from '../chain.js';

/**
 * @typedef {import('./wire.js').WireAppend} WireAppend
 * @typedef {{ kind: 'appended', revision: number, positions: number[] }
 *   | { kind: 'duplicate', revision: number, positions: number[] }
 *   | import('../append-checks.js').Conflict} WireResult
 * @typedef {{ position: number, tenant: string, stream: string, revision: number }} Row
 */

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
  addChainTo(db);

  const sql = {
    insert: db.prepare(
      `INSERT INTO events (tenant, stream, revision, event_id, type, version, data, metadata, recorded_at, chain)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    head: db.prepare('SELECT chain FROM chain_heads WHERE tenant = ?').pluck(),
    setHead: db.prepare(
      'INSERT INTO chain_heads (tenant, position, chain) VALUES (?, ?, ?) ON CONFLICT (tenant) DO UPDATE SET position = excluded.position, chain = excluded.chain',
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
    const { tenant, stream, events } = append;
    const actual = /** @type {number | null} */ (sql.lastRevision.get(tenant, stream)) ?? -1;
    // The main thread encoded an ExpectedRevision; the wire types it loosely.
    const expected = /** @type {import('../event-store.js').ExpectedRevision} */ (append.expected);
    const refused = checkAppend(
      { tenant, stream, expected, events },
      actual,
      (id) => /** @type {Row | undefined} */ (sql.byEventId.get(id)),
    );
    if (refused?.kind === 'duplicate')
      return { kind: 'duplicate', revision: refused.revision, positions: refused.rows.map((row) => row.position) };
    if (refused) return refused;
    let link = heads.get(tenant) ?? /** @type {string | undefined} */ (sql.head.get(tenant)) ?? GENESIS;
    let position = 0;
    const positions = events.map((e, i) => {
      const stored = {
        tenant,
        stream,
        revision: actual + 1 + i,
        event_id: e.event_id,
        type: e.type,
        version: e.version,
        data: e.data,
        metadata: e.metadata,
      };
      link = chainLink(link, stored);
      position = Number(
        sql.insert.run(
          tenant,
          stream,
          stored.revision,
          e.event_id,
          e.type,
          e.version,
          e.data,
          e.metadata,
          recordedAt,
          link,
        ).lastInsertRowid,
      );
      return position;
    });
    if (events.length > 0) {
      heads.set(tenant, link);
      sql.setHead.run(tenant, position, link);
    }
    return { kind: 'appended', revision: actual + events.length, positions };
  }

  /** The chain's last link per tenant, as committed (dropped when a commit fails). */
  const heads = new Map();

  const transaction = db.transaction((/** @type {WireAppend[][]} */ batches) => {
    const recordedAt = new Date().toISOString();
    return batches.map((appends) => appends.map((append) => apply(append, recordedAt)));
  });
  const commit = (/** @type {WireAppend[][]} */ batches) => {
    try {
      return transaction(batches);
    } catch (error) {
      heads.clear();
      throw error;
    }
  };

  return { commit, close: () => db.close() };
}

/**
 * Logs written before the hash chain existed get it now, once: links computed over the
 * stored rows in position order.
 * @param {Database.Database} db
 */
function addChainTo(db) {
  const columns = /** @type {Array<{ name: string }>} */ (db.prepare('PRAGMA table_info(events)').all());
  if (columns.some((column) => column.name === 'chain')) return;
  db.transaction(() => {
    db.exec('ALTER TABLE events ADD COLUMN chain TEXT');
    const update = db.prepare('UPDATE events SET chain = ? WHERE position = ?');
    const setHead = db.prepare('INSERT OR REPLACE INTO chain_heads (tenant, position, chain) VALUES (?, ?, ?)');
    const page = db.prepare(
      'SELECT position, tenant, stream, revision, event_id, type, version, data, metadata FROM events WHERE position > ? ORDER BY position LIMIT 5000',
    );
    /** @type {Map<string, { position: number, link: string }>} */
    const links = new Map();
    for (let after = 0; ;) {
      const rows = /** @type {Array<import('../chain.js').ChainedContent & { position: number }>} */ (page.all(after));
      if (rows.length === 0) break;
      for (const row of rows) {
        const link = chainLink(links.get(row.tenant)?.link ?? GENESIS, row);
        update.run(link, row.position);
        links.set(row.tenant, { position: row.position, link });
      }
      after = /** @type {{ position: number }} */ (rows[rows.length - 1]).position;
    }
    for (const [tenant, { position, link }] of links) setHead.run(tenant, position, link);
  })();
}
