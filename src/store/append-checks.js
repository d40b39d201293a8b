// What an append is checked against before anything is written, the same for every engine that
// checks it in its own code. Plain JavaScript: the SQLite writer thread uses it too.

/**
 * @typedef {import('./event-store.js').ExpectedRevision} ExpectedRevision
 * @typedef {{ kind: 'conflict', actual: number, detail?: string }} Conflict
 *   the append is refused; `actual` is its stream's last revision (-1: no stream)
 * @typedef {{ tenant: string, stream: string, revision: number }} Landing
 *   where a stored event is: its tenant's key, its stream and revision
 */

/** Why an append is refused, beside a stream that does not match its expected revision. */
export const SAME_ID_TWICE = 'the same event id twice in one append';
export const IDS_USED_ELSEWHERE = 'event ids already used by another append';

/**
 * Whether a stream whose last revision is `actual` (-1: no stream) is what an append expects.
 *
 * @example
 *   matchesExpected('no_stream', -1); // true
 *   matchesExpected(3, 4); // false
 * @param {ExpectedRevision} expected
 * @param {number} actual
 * @returns {boolean}
 */
export function matchesExpected(expected, actual) {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === -1;
  if (expected === 'stream_exists') return actual >= 0;
  return expected === actual;
}

/**
 * Checks an append, in this order: the same id twice in it; ids already stored, either all of
 * them by this same append before (a duplicate: the original is the answer) or otherwise (a
 * conflict); a stream that is not what it expects. Undefined when it may be written.
 *
 * @example
 *   const refused = checkAppend({ tenant, stream, expected, events }, lastRevision ?? -1, (id) => byId.get(id));
 * @template {Landing} Row
 * @param {{ tenant: string, stream: string, expected: ExpectedRevision, events: readonly { event_id: string }[] }} append
 *   the tenant as its key
 * @param {number} actual the stream's last revision, -1 when it does not exist
 * @param {(eventId: string) => Row | undefined} storedAs the event already stored under an id
 * @returns {Conflict | { kind: 'duplicate', revision: number, rows: Row[] } | undefined}
 */
export function checkAppend({ tenant, stream, expected, events }, actual, storedAs) {
  if (new Set(events.map((e) => e.event_id)).size !== events.length)
    return { kind: 'conflict', actual, detail: SAME_ID_TWICE };
  const known = events.map((e) => storedAs(e.event_id));
  if (known.some((row) => row !== undefined)) {
    const first = known[0];
    const sameAppend =
      first !== undefined &&
      known.every(
        (row, i) =>
          row !== undefined && row.tenant === tenant && row.stream === stream && row.revision === first.revision + i,
      );
    if (!sameAppend) return { kind: 'conflict', actual, detail: IDS_USED_ELSEWHERE };
    return { kind: 'duplicate', revision: first.revision + events.length - 1, rows: /** @type {Row[]} */ (known) };
  }
  if (!matchesExpected(expected, actual)) return { kind: 'conflict', actual };
  return undefined;
}
