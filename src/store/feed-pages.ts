import type { RecordedEvent } from '../events/envelope.js';
import type { EventStore, FeedQuery } from './event-store.js';

/** The whole feed a query selects, page after page, in position order. */
export async function* feedPages(store: EventStore, query: Omit<FeedQuery, 'after' | 'limit'>, pageSize = 5000): AsyncGenerator<RecordedEvent[]> {
  for (let after = 0; ; ) {
    const page = await store.readFeed({ ...query, after, limit: pageSize });
    if (page.length === 0) return;
    yield page;
    after = page[page.length - 1]!.position;
  }
}
