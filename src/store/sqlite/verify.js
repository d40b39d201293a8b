// Recomputing a tenant's hash chain over the embedded store, row by row. Plain JavaScript: it
// runs in a worker thread of its own (sqlite-verify.worker.js), so a tenant of millions of
// events is checked without holding the event loop that serves requests.
import Database from 'better-sqlite3';
import { chainLink, GENESIS } from '../chain.js';

/**
 * @param {string} path the database file
 * @param {string} tenant the tenant's key
 * @returns {import('../event-store.js').ChainVerification}
 */
export function verifyTenantChain(path, tenant) {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare('SELECT position, tenant, stream, revision, event_id, type, version, data, metadata, chain FROM events WHERE tenant = ? ORDER BY position');
    const head = db.prepare('SELECT position, chain FROM chain_heads WHERE tenant = ?');
    // One read transaction: the rows and the stored head come from the same moment, however many
    // commits land meanwhile.
    return db.transaction(() => {
      let link = GENESIS;
      /** @type {{ position: number, link: string } | null} */
      let last = null;
      let events = 0;
      for (const row of /** @type {IterableIterator<import('../chain.js').ChainedContent & { position: number, chain: string | null }>} */ (rows.iterate(tenant))) {
        link = chainLink(link, row);
        events++;
        if (row.chain !== link) {
          return { ok: false, events, head: last, broken_at: row.position, reason: 'this event, or one before it, was changed, inserted or removed' };
        }
        last = { position: row.position, link };
      }
      const stored = /** @type {{ position: number, chain: string } | undefined} */ (head.get(tenant));
      if ((stored?.chain ?? GENESIS) !== (last?.link ?? GENESIS)) {
        return { ok: false, events, head: last, broken_at: stored?.position ?? 0, reason: 'events at the end of the log were removed' };
      }
      return { ok: true, events, head: last };
    })();
  } finally {
    db.close();
  }
}
