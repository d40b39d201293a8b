import type { RecordedEvent } from '../events/envelope.js';
import type { Tenant } from '../events/tenant.js';
import { betweenPages, type EventStore, type FeedQuery } from '../store/event-store.js';

/** Events folded between two turns of the event loop. */
export const FOLD_PAGE = 200;

/** A projection over a tenant's feed: a pure fold that ignores events it has already seen. */
export interface FeedProjection<S> {
  initialState(): S;
  evolve(state: S, event: RecordedEvent): S;
  /** The only event types it folds, when it is that narrow: only they are read for it. */
  readonly types?: readonly string[];
  /** It folds the same without the bulky payloads (see `FeedQuery.withoutPayloads`): they are not read for it. */
  readonly withoutPayloads?: boolean;
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
  return (await foldAtMost(store, tenant, projection, upTo, from, Number.POSITIVE_INFINITY))!;
}

/** `foldFeed`, given up (`undefined`) once more than `most` events would be folded. */
export async function foldAtMost<S>(
  store: EventStore,
  tenant: Tenant,
  projection: FeedProjection<S>,
  upTo: number,
  from: { state: S; position: number },
  most: number,
): Promise<S | undefined> {
  let { state, position } = from;
  for (let folded = 0; ;) {
    // Pages are cut by bytes as well as count: only an empty one is the end.
    const page = await store.readFeed(
      feedQueryOf(projection, { tenant, after: position, upTo, limit: Math.min(FOLD_PAGE, most - folded + 1) }),
    );
    if (page.length === 0) return state;
    folded += page.length;
    if (folded > most) return undefined;
    for (const event of page) state = projection.evolve(state, event);
    position = page[page.length - 1]!.position;
    await betweenPages();
  }
}

/** A query of the feed, narrowed to what `projection` reads. */
export function feedQueryOf<Q extends Omit<FeedQuery, 'after' | 'limit'>>(
  projection: FeedProjection<unknown>,
  query: Q,
): Q {
  if (projection.types) return { ...query, types: projection.types };
  return projection.withoutPayloads ? { ...query, withoutPayloads: true } : query;
}
