import type { Context } from 'hono';

/** Items serialized per read of the answer. */
const ITEMS_PER_CHUNK = 64;

/**
 * A JSON object answer, `{"<key>": [...items], ...rest}`, written a few items at a time as the
 * client reads it: a page of large reports never becomes one string in memory.
 *
 * @example
 *   return jsonStream(c, 'reports', page.map(toReport), { next_after, has_more });
 */
export function jsonStream(
  c: Context,
  key: string,
  items: readonly unknown[],
  rest: Record<string, unknown>,
): Response {
  const encoder = new TextEncoder();
  let next = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (next === 0) controller.enqueue(encoder.encode(`{${JSON.stringify(key)}:[`));
      const end = Math.min(items.length, next + ITEMS_PER_CHUNK);
      const parts: string[] = [];
      for (; next < end; next++) parts.push((next === 0 ? '' : ',') + JSON.stringify(items[next]));
      if (parts.length > 0) controller.enqueue(encoder.encode(parts.join('')));
      if (next < items.length) return;
      const tail = JSON.stringify(rest);
      controller.enqueue(encoder.encode(tail === '{}' ? ']}' : `],${tail.slice(1)}`));
      controller.close();
    },
  });
  return c.body(body, 200, { 'content-type': 'application/json' });
}
