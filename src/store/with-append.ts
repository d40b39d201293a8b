import type { EventStore } from './event-store.js';

/** `store` with its `append` replaced (to observe or retry appends); everything else as it is. */
export function withAppend(store: EventStore, append: EventStore['append']): EventStore {
  return {
    append,
    readStream: (tenant, stream) => store.readStream(tenant, stream),
    readFeed: (query) => store.readFeed(query),
    subscribe: (options) => store.subscribe(options),
    headPosition: () => store.headPosition(),
    verifyChain: (tenant) => store.verifyChain(tenant),
    close: () => store.close(),
  };
}
