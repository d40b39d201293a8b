import type { Tenant } from '../events/tenant.js';
import type { AppendResult, EventStore } from './event-store.js';
import { withAppend } from './with-append.js';

/** Called after every successful append, with how long it took. */
export type AppendObserver = (tenant: Tenant, result: AppendResult, durationMs: number) => void;

/** The store, telling `observers` about every append (for metrics and position fan-out). */
export function observedStore(store: EventStore, observers: readonly AppendObserver[]): EventStore {
  if (observers.length === 0) return store;
  return withAppend(store, async (tenant, stream, events, expected) => {
    const started = performance.now();
    const result = await store.append(tenant, stream, events, expected);
    const duration = performance.now() - started;
    for (const observe of observers) observe(tenant, result, duration);
    return result;
  });
}
