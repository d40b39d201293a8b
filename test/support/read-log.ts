import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { RecordedEvent } from '../../src/events/envelope.js';
import { tenantKey, type Tenant } from '../../src/events/tenant.js';
import { typedEvent } from '../../src/store/event-store.js';

/** A tenant's events straight from the data folder's SQLite file, read-only, for checks. */
export async function readFeed(dataDir: string, tenant: Tenant): Promise<RecordedEvent[]> {
  const db = new Database(join(dataDir, 'nexus.db'), { readonly: true });
  try {
    const rows = db
      .prepare(
        'SELECT position, stream, revision, event_id, type, version, data, metadata FROM events WHERE tenant = ? ORDER BY position',
      )
      .all(tenantKey(tenant)) as Array<Record<string, string | number>>;
    return rows.map((row) =>
      typedEvent({
        position: Number(row.position),
        tenant,
        stream: String(row.stream),
        revision: Number(row.revision),
        event_id: String(row.event_id),
        type: String(row.type),
        version: Number(row.version),
        data: JSON.parse(String(row.data)),
        metadata: JSON.parse(String(row.metadata)),
      }),
    );
  } finally {
    db.close();
  }
}
