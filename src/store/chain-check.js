// Verifying a tenant's hash chain (chain.js): its links recomputed over the events as stored, in
// position order, and compared with the links the engine stored. Each engine supplies how to read
// its rows and its stored head. Plain JavaScript: the SQLite verification thread uses it too.
import { chainLink, GENESIS } from './chain.js';

/**
 * @typedef {import('./event-store.js').ChainVerification} ChainVerification
 * @typedef {import('./chain.js').ChainedContent & { position: number, chain: string | null }} StoredLink
 *   an event as stored, with the link stored beside it
 * @typedef {{ position: number, chain: string }} StoredHead the tenant's last link, as stored
 */

/** Why a chain is broken. */
export const LINK_MISMATCH = 'this event, or one before it, was changed, inserted or removed';
export const END_REMOVED = 'events at the end of the log were removed';

/**
 * A tenant's chain recomputed event by event, and the verdict on it: the first break found wins.
 *
 * @example
 *   const walk = new ChainWalk();
 *   if (walk.next(content) !== storedLink) walk.fail(position, LINK_MISMATCH);
 *   else walk.matched(position);
 *   return walk.verdict();
 */
export class ChainWalk {
  link = GENESIS;
  events = 0;
  /** @type {ChainVerification['head']} the last event found as stored */
  head = null;
  /** @type {{ broken_at: number, reason: string } | undefined} */
  broken = undefined;

  /**
   * Links the tenant's next event.
   * @param {import('./chain.js').ChainedContent} content
   * @returns {string} its link
   */
  next(content) {
    this.link = chainLink(this.link, content);
    this.events++;
    return this.link;
  }

  /** @param {number} position the event just linked matched what is stored */
  matched(position) {
    this.head = { position, link: this.link };
  }

  /**
   * @param {number} position @param {string} reason
   * @returns {false} so that a walk driven by callbacks can stop with it
   */
  fail(position, reason) {
    this.broken ??= { broken_at: position, reason };
    return false;
  }

  /**
   * The next row of a chain whose every row holds its link.
   * @param {StoredLink} row
   * @returns {boolean} whether the chain still holds
   */
  row(row) {
    if (this.next(row) !== row.chain) return this.fail(row.position, LINK_MISMATCH);
    this.matched(row.position);
    return true;
  }

  /**
   * The verdict once every row is walked, compared with the tenant's stored head.
   * @param {StoredHead | undefined} stored
   * @returns {ChainVerification}
   */
  end(stored) {
    if ((stored?.chain ?? GENESIS) !== (this.head?.link ?? GENESIS)) this.fail(stored?.position ?? 0, END_REMOVED);
    return this.verdict();
  }

  /** @returns {ChainVerification} */
  verdict() {
    const { events, head, broken } = this;
    return broken ? { ok: false, events, head, ...broken } : { ok: true, events, head };
  }
}

/**
 * Verifies a chain whose every row holds its link, reading synchronously (in a synchronous
 * transaction): the rows in position order, then, if they all hold, the stored head.
 * @param {Iterable<StoredLink>} rows
 * @param {() => StoredHead | undefined} storedHead
 * @returns {ChainVerification}
 */
export function verifyRows(rows, storedHead) {
  const walk = new ChainWalk();
  for (const row of rows) if (!walk.row(row)) return walk.verdict();
  return walk.end(storedHead());
}

/**
 * The same, page by page: `page(after)` reads the rows after a position, and an empty page ends.
 * @param {(after: number) => Promise<StoredLink[]>} page
 * @param {() => Promise<StoredHead | undefined>} storedHead
 * @returns {Promise<ChainVerification>}
 */
export async function verifyPages(page, storedHead) {
  const walk = new ChainWalk();
  for (let rows = await page(0); rows.length > 0; rows = await page(/** @type {StoredLink} */ (rows.at(-1)).position)) {
    for (const row of rows) if (!walk.row(row)) return walk.verdict();
  }
  return walk.end(await storedHead());
}
