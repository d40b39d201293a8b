import { StoreUnavailableError, type EventStore } from '../store/event-store.js';
import { withAppend } from '../store/with-append.js';
import { sleep } from '../shared/sleep.js';

/**
 * The store, with appends that wait out a short outage of the log: a worker that has run a
 * handler keeps trying to record its outcome (appends are idempotent by event id, so trying
 * again is safe) rather than leaving the attempt to be found lost and run again.
 */
export function patientStore(store: EventStore, patienceMs: number): EventStore {
  return withAppend(store, async (tenant, stream, events, expected) => {
    const deadline = Date.now() + patienceMs;
    for (let delay = 50; ; delay = Math.min(delay * 2, 2000)) {
      try {
        return await store.append(tenant, stream, events, expected);
      } catch (error) {
        if (!(error instanceof StoreUnavailableError) || Date.now() + delay > deadline) throw error;
        await sleep(delay);
      }
    }
  });
}
