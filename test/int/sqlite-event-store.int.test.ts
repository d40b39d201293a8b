import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqliteEventStore } from '../../src/store/sqlite/sqlite-event-store.js';
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

eventStoreConformance('sqlite', sqlite(), { leaveOutPayloads: true });
// Subscribers then cross from the disk to the in-memory recent events and back all the time.
eventStoreConformance('sqlite, 3 recent events in memory', sqlite(3), { leaveOutPayloads: true });

describe('sqlite hash chain', () => {
  const tenant = { org_id: 'audit', project_id: 'p' };
  const event = (n: number) => ({
    event_id: randomUUID(),
    type: 'Thing',
    version: 1,
    data: { n },
    metadata: { correlation_id: 'c', occurred_at: '2026-11-24T00:00:00.000Z' },
  });

  /** A store with 5 events, closed; `tamper` then edits the file directly, as an intruder would. */
  async function tampered(tamper: (db: Database.Database, positions: number[]) => void) {
    const path = join(mkdtempSync(join(tmpdir(), 'nexus-chain-')), 'nexus.db');
    const store = await openSqliteEventStore({ path });
    const positions: number[] = [];
    for (let n = 0; n < 5; n++)
      positions.push((await store.append(tenant, `s-${n}`, [event(n)], 'no_stream')).events[0]!.position);
    expect((await store.verifyChain(tenant)).ok).toBe(true);
    await store.close();
    const db = new Database(path);
    tamper(db, positions);
    db.close();
    const reopened = await openSqliteEventStore({ path });
    const verdict = await reopened.verifyChain(tenant);
    await reopened.close();
    return { verdict, positions };
  }

  it('detects an edited event', async () => {
    const { verdict, positions } = await tampered((db, p) =>
      db.prepare(`UPDATE events SET data = '{"n":99}' WHERE position = ?`).run(p[2]),
    );
    expect(verdict).toMatchObject({ ok: false, broken_at: positions[2] });
  });

  it('detects an inserted event, even one given a correctly computed link', async () => {
    const { verdict, positions } = await tampered((db, p) => {
      db.prepare('DELETE FROM events WHERE position > ?').run(p[1]);
      db.prepare(
        `INSERT INTO events (tenant, stream, revision, event_id, type, version, data, metadata, recorded_at, chain)
         SELECT tenant, 'forged', 0, 'forged-id', type, version, '{"n":"forged"}', metadata, recorded_at, chain FROM events WHERE position = ?`,
      ).run(p[1]);
    });
    expect(verdict.ok).toBe(false);
    expect(verdict.broken_at).toBeGreaterThan(positions[1]!);
  });

  it('detects a deleted event in the middle', async () => {
    const { verdict, positions } = await tampered((db, p) =>
      db.prepare('DELETE FROM events WHERE position = ?').run(p[1]),
    );
    expect(verdict).toMatchObject({ ok: false, broken_at: positions[2] });
  });

  it('detects events removed from the end', async () => {
    const { verdict } = await tampered((db, p) => db.prepare('DELETE FROM events WHERE position >= ?').run(p[3]));
    expect(verdict).toMatchObject({ ok: false, reason: 'events at the end of the log were removed' });
  });
});
