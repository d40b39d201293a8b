import { memoryEventStore } from '../../src/store/memory/memory-event-store.js';
import { eventStoreConformance } from '../support/event-store-conformance.js';

eventStoreConformance('memory', async () => {
  const store = memoryEventStore();
  // Nothing outlives the process: "reopening" is the same store.
  return { store, reopen: async () => store };
});
