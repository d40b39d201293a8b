import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteEventStore } from '../../src/store/sqlite-event-store.js';
import { eventStoreConformance } from '../support/event-store-conformance.js';

function sqlite(recentKeep?: number) {
  return async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'nexus-store-')), 'nexus.db');
    const store = await openSqliteEventStore({ path, recentKeep });
    return {
      store,
      reopen: async () => {
        await store.close();
        return openSqliteEventStore({ path, recentKeep });
      },
    };
  };
}

eventStoreConformance('sqlite', sqlite());
// Subscribers then cross from the disk to the in-memory recent events and back all the time.
eventStoreConformance('sqlite, 3 recent events in memory', sqlite(3));

