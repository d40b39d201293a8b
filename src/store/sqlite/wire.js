// How appends cross to the writer thread: one string of length-prefixed fields. Data and
// metadata travel as the JSON text they are stored as, serialized once on the main thread:
// the writer neither parses nor serializes them again, and nothing is escaped twice.
// Plain JavaScript: the writer thread uses it too.

/**
 * @typedef {{ event_id: string, type: string, version: number, data: string, metadata: string }} WireEvent
 * @typedef {{ tenant: string, stream: string, expected: string | number, events: WireEvent[] }} WireAppend
 */

/** @param {string[]} out @param {string} field */
const put = (out, field) => {
  out.push(String(field.length), ':', field);
};

/**
 * One append, framed: what `decodeAppends` reads back.
 * @param {WireAppend} append
 * @returns {string}
 */
export function encodeAppend(append) {
  /** @type {string[]} */
  const out = [];
  put(out, append.tenant);
  put(out, append.stream);
  put(out, JSON.stringify(append.expected));
  put(out, String(append.events.length));
  for (const event of append.events) {
    put(out, event.event_id);
    put(out, event.type);
    put(out, String(event.version));
    put(out, event.data);
    put(out, event.metadata);
  }
  return out.join('');
}

/**
 * The appends of a message: encoded appends, concatenated.
 * @param {string} text
 * @returns {WireAppend[]}
 */
export function decodeAppends(text) {
  let at = 0;
  const take = () => {
    const colon = text.indexOf(':', at);
    const length = Number(text.slice(at, colon));
    at = colon + 1 + length;
    return text.slice(colon + 1, at);
  };
  /** @type {WireAppend[]} */
  const appends = [];
  while (at < text.length) {
    const tenant = take();
    const stream = take();
    const expected = /** @type {string | number} */ (JSON.parse(take()));
    const count = Number(take());
    /** @type {WireEvent[]} */
    const events = [];
    for (let i = 0; i < count; i++)
      events.push({ event_id: take(), type: take(), version: Number(take()), data: take(), metadata: take() });
    appends.push({ tenant, stream, expected, events });
  }
  return appends;
}
