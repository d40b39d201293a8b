import { randomUUID } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/events/envelope.js';
import { ConcurrencyError, StoreUnavailableError, type EventStore } from '../../src/store/event-store.js';
import {
  openPostgresEventStore,
  type PostgresEventStore,
  type PostgresEventStoreOptions,
} from '../../src/store/postgres/postgres-event-store.js';
import { eventStoreConformance } from '../support/event-store-conformance.js';
import { waitUntil } from '../support/wait.js';

const url = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Pool({ connectionString: url, max: 2 });
const schemas: string[] = [];

afterAll(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

/** A schema of its own per harness, so test files and tests never share a log by accident. */
function freshSchema(): string {
  const schema = `test_${randomUUID().replaceAll('-', '').slice(0, 20)}`;
  schemas.push(schema);
  return schema;
}

function postgres(options: Partial<PostgresEventStoreOptions> = {}) {
  return async () => {
    const open = { connectionString: url, schema: freshSchema(), ...options };
    const store = await openPostgresEventStore(open);
    return {
      store,
      reopen: async () => {
        await store.close();
        return openPostgresEventStore(open);
      },
    };
  };
}

eventStoreConformance('postgres', postgres(), { leaveOutPayloads: true });
// Subscribers then cross from the database to the tail in memory and back all the time.
eventStoreConformance('postgres, 3 recent events in memory', postgres({ recentKeep: 3 }), { leaveOutPayloads: true });

const tenant = { org_id: 'alpha', project_id: 'one' };
const event = (n: number | string = 0) => ({
  event_id: randomUUID(),
  type: 'Thing',
  version: 1,
  data: { n },
  metadata: { correlation_id: 'c', occurred_at: '2026-11-24T00:00:00.000Z' },
});
const positions = (events: readonly RecordedEvent[]) => events.map((e) => e.position);

/** Every event of a subscription until `enough` says so. */
async function collect(
  store: EventStore,
  enough: (seen: RecordedEvent[]) => boolean,
  batchSize?: number,
): Promise<RecordedEvent[]> {
  const controller = new AbortController();
  const seen: RecordedEvent[] = [];
  for await (const batch of store.subscribe({ after: 0, signal: controller.signal, batchSize })) {
    seen.push(...batch);
    if (enough(seen)) controller.abort();
  }
  return seen;
}
const count = (n: number) => (seen: RecordedEvent[]) => seen.length >= n;

describe('postgres: several instances on one log', () => {
  const opened: EventStore[] = [];
  const open = async (
    schema: string,
    options: Partial<PostgresEventStoreOptions> = {},
  ): Promise<PostgresEventStore> => {
    const store = await openPostgresEventStore({ connectionString: url, schema, ...options });
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((s) => s.close()));
  });

  it('creates a new schema safely when several instances start at once', async () => {
    const schema = freshSchema();
    const stores = await Promise.all(Array.from({ length: 4 }, () => open(schema)));
    await stores[0]!.append(tenant, 's-1', [event()], 'no_stream');
    expect(await stores[3]!.readStream(tenant, 's-1')).toHaveLength(1);
  });

  it('wakes a subscriber on another instance by notification, in order', async () => {
    const schema = freshSchema();
    const writer = await open(schema);
    // No poll within the test's time: only the NOTIFY can wake this one.
    const reader = await open(schema, { pollIntervalMs: 600_000 });
    const seen = collect(reader, count(60));
    const written = [];
    for (let i = 0; i < 30; i++) written.push(await writer.append(tenant, `s-${i}`, [event(i)], 'no_stream'));
    written.push(
      ...(await Promise.all(
        Array.from({ length: 30 }, (_, i) => writer.append(tenant, `t-${i}`, [event(i)], 'no_stream')),
      )),
    );
    const expected = written.flatMap((w) => positions(w.events)).sort((a, b) => a - b);
    expect(positions(await seen)).toEqual(expected);
  });

  it('never lets a reader skip a position while appends from two instances race', async () => {
    const schema = freshSchema();
    const [a, b] = [await open(schema), await open(schema)];
    const watcher = await open(schema, { pollIntervalMs: 600_000 });
    const total = 4000;
    // Both stop at the last position, not at a count: one that skipped a position shows it.
    const subscribed = collect(watcher, (seen) => seen.at(-1)!.position >= total, 7);
    // A reader that pages the log as fast as it can: it would step over a position committed late.
    const paged = (async () => {
      const seen: number[] = [];
      while ((seen.at(-1) ?? 0) < total) {
        const page = await watcher.readFeed({ after: seen.at(-1) ?? 0, limit: 50 });
        seen.push(...positions(page));
      }
      return seen;
    })();
    const appendFrom = async (store: EventStore, name: string) => {
      for (let round = 0; round < 20; round++) {
        await Promise.all(
          Array.from({ length: 100 }, (_, i) => store.append(tenant, `${name}-${round}-${i}`, [event(i)], 'no_stream')),
        );
      }
    };
    await Promise.all([appendFrom(a, 'a'), appendFrom(b, 'b')]);
    const log = positions(await watcher.readFeed({ after: 0, limit: total + 1 }));
    expect(log).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(positions(await subscribed)).toEqual(log);
    expect(await paged).toEqual(log);
  });

  it('checks expected revisions and event ids across instances', async () => {
    const schema = freshSchema();
    const [a, b] = [await open(schema), await open(schema)];
    await a.append(tenant, 's-1', [event()], 'no_stream');
    const outcomes = await Promise.allSettled([a, b, a, b].map((store) => store.append(tenant, 's-1', [event()], 0)));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(ConcurrencyError);
    const again = [event(), event()];
    const first = await a.append(tenant, 's-2', again, 'no_stream');
    const second = await b.append(tenant, 's-2', again, 'no_stream');
    expect(positions(second.events)).toEqual(positions(first.events));
    expect(second.events.map((e) => e.data)).toEqual(again.map((e) => e.data));
  });

  it('listens again when its LISTEN connection drops, and catches up with what it missed', async () => {
    const schema = freshSchema();
    const writer = await open(schema);
    const reader = await open(schema, { pollIntervalMs: 600_000 });
    const listeners = async () =>
      (
        await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
          `nexus-listen:${schema}`,
        ])
      ).rows.map((r) => r.pid);
    // only an instance with subscribers follows the log: the writer never LISTENs
    const before = await writer.append(tenant, 's-0', [event('before')], 'no_stream');
    expect(await listeners()).toHaveLength(0);
    const seen = collect(reader, count(3));
    await waitUntil(async () => (await listeners()).length === 1, { what: 'the subscribed instance to LISTEN' });
    const killed = await listeners();
    await admin.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [killed]);
    await waitUntil(async () => (await listeners()).every((pid) => !killed.includes(pid)), {
      what: 'the listener to be gone',
    });
    const missed = await writer.append(tenant, 's-1', [event('during')], 'no_stream');
    await waitUntil(async () => (await listeners()).length === 1, { what: 'the subscribed instance to LISTEN again' });
    const live = await writer.append(tenant, 's-2', [event('after')], 'no_stream');
    expect(positions(await seen)).toEqual([
      ...positions(before.events),
      ...positions(missed.events),
      ...positions(live.events),
    ]);
  });

  it('fails an append whose data JSON or PostgreSQL refuses alone, not the appends committed with it', async () => {
    const store = await open(freshSchema());
    const [good, refused, unserializable, other] = await Promise.allSettled([
      store.append(tenant, 's-1', [event()], 'no_stream'),
      store.append(tenant, 'nul\u0000in-name', [event()], 'no_stream'),
      store.append(tenant, 's-3', [{ ...event(), data: { big: 1n } }], 'no_stream'),
      store.append(tenant, 's-2', [event()], 'no_stream'),
    ]);
    expect([good.status, refused.status, unserializable.status, other.status]).toEqual([
      'fulfilled',
      'rejected',
      'rejected',
      'fulfilled',
    ]);
    expect((refused as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
    expect((unserializable as PromiseRejectedResult).reason).toBeInstanceOf(TypeError);
    expect((await store.verifyChain(tenant)).ok).toBe(true);
  });

  it('fails its subscribers when an event cannot be read, instead of stalling them', async () => {
    const schema = freshSchema();
    const writer = await open(schema);
    const reader = await open(schema, {
      upcast: (_type, _version, data) => {
        if ((data as { n: unknown }).n === 'poison') throw new Error('no upcaster for this shape');
        return data;
      },
    });
    const seen = collect(reader, count(2));
    await writer.append(tenant, 's-1', [event('fine'), event('poison')], 'no_stream');
    await expect(seen).rejects.toThrow('no upcaster for this shape');
  });

  it('lifts old event versions with the upcaster when reading', async () => {
    const schema = freshSchema();
    await (await open(schema)).append(tenant, 's-1', [event(41)], 'no_stream');
    const upcasting = await open(schema, {
      upcast: (_type, version, data) => (version === 1 ? { n: (data as { n: number }).n + 1 } : data),
    });
    expect((await upcasting.readStream(tenant, 's-1'))[0]!.data).toEqual({ n: 42 });
  });
});

describe('postgres: availability', () => {
  it('finishes in-flight appends on close, then refuses calls', async () => {
    const store = await openPostgresEventStore({ connectionString: url, schema: freshSchema() });
    const appends = Array.from({ length: 200 }, (_, i) => store.append(tenant, `s-${i}`, [event(i)], 'no_stream'));
    await store.close();
    expect((await Promise.allSettled(appends)).filter((o) => o.status === 'rejected')).toEqual([]);
    await expect(store.append(tenant, 's-late', [event()], 'no_stream')).rejects.toThrow(StoreUnavailableError);
    await expect(store.readFeed({ after: 0, limit: 10 })).rejects.toThrow(StoreUnavailableError);
    await expect(store.headPosition()).rejects.toThrow(StoreUnavailableError);
  });

  it('reports an unreachable server as StoreUnavailableError', async () => {
    await expect(openPostgresEventStore({ connectionString: 'postgres://postgres@127.0.0.1:1/test' })).rejects.toThrow(
      StoreUnavailableError,
    );
  });

  it('gives up connecting to a server that never answers, instead of hanging', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const started = Date.now();
    const opening = openPostgresEventStore({
      connectionString: `postgres://postgres@127.0.0.1:${port}/test`,
      connectTimeoutMs: 300,
    });
    await expect(opening).rejects.toThrow(StoreUnavailableError);
    expect(Date.now() - started).toBeLessThan(5_000);
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('recovers when its connections are killed: appends in the way fail as StoreUnavailableError', async () => {
    const schema = freshSchema();
    const store = await openPostgresEventStore({ connectionString: url, schema, poolSize: 4 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.append(tenant, `s-${i}`, [event(i)], 'no_stream')));
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
      `nexus:${schema}`,
    ]);
    const failures: unknown[] = [];
    await waitUntil(
      async () => {
        try {
          await store.append(tenant, `after-${failures.length}`, [event()], 'no_stream');
          return true;
        } catch (error) {
          failures.push(error);
          return false;
        }
      },
      { what: 'an append to succeed again' },
    );
    expect(failures.length).toBeLessThanOrEqual(4);
    for (const failure of failures) expect(failure).toBeInstanceOf(StoreUnavailableError);
    await store.close();
  });
});

describe('postgres hash chain', () => {
  /** A store with 5 events, closed; `tamper` then edits the tables directly, as an intruder would. */
  async function tampered(tamper: (events: string, p: number[]) => Promise<unknown>) {
    const schema = freshSchema();
    const store = await openPostgresEventStore({ connectionString: url, schema });
    const p: number[] = [];
    for (let n = 0; n < 5; n++)
      p.push((await store.append(tenant, `s-${n}`, [event(n)], 'no_stream')).events[0]!.position);
    expect((await store.verifyChain(tenant)).ok).toBe(true);
    await store.close();
    await tamper(`"${schema}".events`, p);
    const reopened = await openPostgresEventStore({ connectionString: url, schema });
    const verdict = await reopened.verifyChain(tenant);
    await reopened.close();
    return { verdict, p };
  }

  it('detects an edited event', async () => {
    const { verdict, p } = await tampered((events, p) =>
      admin.query(`UPDATE ${events} SET data = '{"n":99}' WHERE position = $1`, [p[2]]),
    );
    expect(verdict).toMatchObject({ ok: false, broken_at: p[2] });
  });

  it('detects an inserted event, even one given a correctly computed link', async () => {
    const { verdict, p } = await tampered(async (events, p) => {
      await admin.query(`DELETE FROM ${events} WHERE position > $1`, [p[1]]);
      await admin.query(
        `INSERT INTO ${events} (position, tenant, stream, revision, event_id, type, version, data, metadata, recorded_at, chain)
         SELECT $2, tenant, 'forged', 0, 'forged-id', type, version, '{"n":"forged"}', metadata, recorded_at, chain FROM ${events} WHERE position = $1`,
        [p[1], p[4]],
      );
    });
    expect(verdict.ok).toBe(false);
    expect(verdict.broken_at).toBeGreaterThan(p[1]!);
  });

  it('detects a deleted event in the middle', async () => {
    const { verdict, p } = await tampered((events, p) =>
      admin.query(`DELETE FROM ${events} WHERE position = $1`, [p[1]]),
    );
    expect(verdict).toMatchObject({ ok: false, broken_at: p[2] });
  });

  it('detects events removed from the end', async () => {
    const { verdict } = await tampered((events, p) =>
      admin.query(`DELETE FROM ${events} WHERE position >= $1`, [p[3]]),
    );
    expect(verdict).toMatchObject({ ok: false, reason: 'events at the end of the log were removed' });
  });
});
