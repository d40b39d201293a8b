import type { RecordedEvent } from '../events/envelope.js';
import type { Tenant } from '../events/tenant.js';
import type { EventStore } from '../store/event-store.js';

/** A projection over a tenant's feed: a pure fold that ignores events it has already seen. */
export interface FeedProjection<S> {
  initialState(): S;
  evolve(state: S, event: RecordedEvent): S;
}

/**
 * Folds a tenant's events, oldest first, from `from` (a state and the position it is
 * consistent with) up to and including position `upTo`.
 */
export async function foldFeed<S>(
  store: EventStore,
  tenant: Tenant,
  projection: FeedProjection<S>,
  upTo: number,
  from: { state: S; position: number } = { state: projection.initialState(), position: 0 },
): Promise<S> {
  let { state, position } = from;
  for (;;) {
    const page = await store.readFeed({ tenant, after: position, upTo, limit: 2000 });
    for (const event of page) state = projection.evolve(state, event);
    if (page.length < 2000) return state;
    position = page[page.length - 1]!.position;
  }
}
