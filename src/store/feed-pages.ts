import type { RecordedEvent } from '../events/envelope.js';
import { betweenPages, type EventStore, type FeedQuery } from './event-store.js';

/**
 * The whole feed a query selects (after `after`, 0 by default), page after page, in position
 * order, the event loop turning between pages. Pages are cut by bytes too: only an empty one
 * ends the feed.
 */
export async function* feedPages(
  store: EventStore,
  query: Omit<FeedQuery, 'after' | 'limit'> & { readonly after?: number },
  pageSize = 5000,
): AsyncGenerator<RecordedEvent[]> {
  for (let after = query.after ?? 0; ;) {
    const page = await store.readFeed({ ...query, after, limit: pageSize });
    if (page.length === 0) return;
    yield page;
    after = page[page.length - 1]!.position;
    await betweenPages();
  }
}

/**
 * A page of at most `limit` events and whether more follow: pages are cut by bytes too, so
 * whether one is the last is told by a one-event look past it.
 */
export async function feedPage(
  store: EventStore,
  query: FeedQuery,
): Promise<{ events: RecordedEvent[]; hasMore: boolean }> {
  const events = await store.readFeed(query);
  const last = events.at(-1);
  if (last === undefined) return { events, hasMore: false };
  return {
    events,
    hasMore: (await store.readFeed({ ...query, after: last.position, limit: 1, maxBytes: 1 })).length > 0,
  };
}
