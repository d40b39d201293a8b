// Recomputing a tenant's hash chain over the embedded store, row by row. Plain JavaScript: it
// runs in a worker thread of its own (verify.worker.js), so a tenant of millions of events is
// checked without holding the event loop that serves requests.
import Database from 'better-sqlite3';
import { verifyRows } from '../chain-check.js';

/**
 * @param {string} path the database file
 * @param {string} tenant the tenant's key
 * @returns {import('../event-store.js').ChainVerification}
 */
export function verifyTenantChain(path, tenant) {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare(
      'SELECT position, tenant, stream, revision, event_id, type, version, data, metadata, chain FROM events WHERE tenant = ? ORDER BY position',
    );
    const head = db.prepare('SELECT position, chain FROM chain_heads WHERE tenant = ?');
    // One read transaction: the rows and the stored head come from the same moment, however many
    // commits land meanwhile.
    return db.transaction(() =>
      verifyRows(
        /** @type {IterableIterator<import('../chain-check.js').StoredLink>} */ (rows.iterate(tenant)),
        () => /** @type {import('../chain-check.js').StoredHead | undefined} */ (head.get(tenant)),
      ),
    )();
  } finally {
    db.close();
  }
}
