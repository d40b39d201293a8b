import { join } from 'node:path';
import type { Config } from '../config/load-config.js';
import { upcast } from '../events/registry.js';
import type { EventStore } from './event-store.js';
import { openEsdbEventStore } from './esdb/esdb-event-store.js';
import { openPostgresEventStore } from './postgres/postgres-event-store.js';
import { openSqliteEventStore } from './sqlite/sqlite-event-store.js';

export type StoreKind = 'eventstoredb' | 'postgres' | 'sqlite';

/** An event store that other processes can wake (after a position arrived from elsewhere). */
export type OpenedStore = { readonly store: EventStore; readonly kind: StoreKind; readonly poke?: () => void };

/** Which log the configuration names: EventStoreDB, else PostgreSQL, else the embedded SQLite file. */
export const storeKind = (config: Pick<Config, 'EVENTSTORE_URL' | 'DATABASE_URL'>): StoreKind =>
  config.EVENTSTORE_URL ? 'eventstoredb' : config.DATABASE_URL ? 'postgres' : 'sqlite';

export async function openEventStore(config: Config): Promise<OpenedStore> {
  const kind = storeKind(config);
  if (kind === 'eventstoredb')
    return { kind, store: await openEsdbEventStore({ connectionString: config.EVENTSTORE_URL!, upcast }) };
  if (kind === 'postgres') {
    const store = await openPostgresEventStore({ connectionString: config.DATABASE_URL!, upcast });
    return { kind, store, poke: () => store.poke() };
  }
  return { kind, store: await openSqliteEventStore({ path: join(config.dataDir, 'nexus.db'), upcast }) };
}
