import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteEventStore } from '../../src/store/sqlite-event-store.js';
import { eventStoreConformance } from '../support/event-store-conformance.js';

eventStoreConformance('sqlite', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'nexus-store-')), 'nexus.db');
  const store = await openSqliteEventStore({ path });
  return {
    store,
    reopen: async () => {
      await store.close();
      return openSqliteEventStore({ path });
    },
  };
});

