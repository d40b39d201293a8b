import { expect } from 'vitest';
import type { FeedProjection } from '../../src/projections/fold-feed.js';
import type { RecordedEvent } from '../../src/events/envelope.js';

/** Given recorded events → the expected view; and the same events replayed change nothing. */
export function projectionSpec<S>(projection: FeedProjection<S>) {
  const fold = (events: readonly RecordedEvent[], from = projection.initialState()) =>
    events.reduce(projection.evolve, from);
  return {
    given(events: readonly RecordedEvent[]) {
      return {
        then(assert: (view: S) => void) {
          assert(fold(events));
        },
        thenReplayingChangesNothing() {
          const once = fold(events);
          expect(fold(events, once)).toEqual(once);
          expect(fold(events, once)).toBe(once);
        },
      };
    },
  };
}
