import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/events/envelope.js';
import { ConcurrencyError, StoreUnavailableError, type EventStore } from '../../src/store/event-store.js';
import { openPostgresEventStore } from '../../src/store/postgres/postgres-event-store.js';
import { freshDatabase } from '../support/distributed.js';
import { bindOf, simpleQuery, startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { waitUntil } from '../support/wait.js';

const tenant = { org_id: 'alpha', project_id: 'one' };
const event = (n: number) => ({
  event_id: randomUUID(),
  type: 'Thing',
  version: 1,
  data: { n },
  metadata: { correlation_id: 'c', occurred_at: '2026-11-24T00:00:00.000Z' },
});

let database: Awaited<ReturnType<typeof freshDatabase>>;
/** Straight to the server, past the proxy: what the log really holds. */
let direct: pg.Pool;

beforeAll(async () => {
  database = await freshDatabase();
  direct = new pg.Pool({ connectionString: database.url, max: 2 });
});
afterAll(async () => {
  await direct.end();
  await database.drop();
});

describe('postgres: a connection that fails at COMMIT', () => {
  let proxy: TcpProxy;
  let store: EventStore;
  let schema: string;

  /** A store whose every connection goes through the proxy. */
  const open = async () => {
    schema = `doubt_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    proxy = await startTcpProxy(database.url);
    store = await openPostgresEventStore({ connectionString: proxy.url, schema });
  };
  afterEach(async () => {
    await store.close();
    await proxy.close();
  });

  const logged = async () =>
    (
      await direct.query<{ event_id: string; position: string }>(
        `SELECT event_id, position FROM "${schema}".events ORDER BY position`,
      )
    ).rows;

  it('answers with the recorded events when the server received COMMIT but its answer was lost', async () => {
    await open();
    await store.append(tenant, 'taken', [event(0)], 'no_stream');
    // A subscriber already following: this instance's tail must take the events in doubt once.
    const seen: RecordedEvent[] = [];
    const following = (async () => {
      for await (const batch of store.subscribe({ after: 0 })) {
        seen.push(...batch);
        if (seen.length >= 4) return;
      }
    })();
    await waitUntil(() => seen.length === 1, { what: 'the subscriber to follow the log' });

    const cut = proxy.cutOn({ on: simpleQuery('COMMIT'), when: 'after' });
    const given = [event(1), event(2)];
    // One batch: an append that writes, and one refused under the same lock.
    const [appended, refused] = [
      store.append(tenant, 's-1', given, 'no_stream'),
      store.append(tenant, 'taken', [event(9)], 'no_stream'),
    ];
    await cut;

    await expect(refused).rejects.toThrow(ConcurrencyError);
    const { revision, events } = await appended;
    expect(revision).toBe(1);
    expect(events.map((e) => [e.event_id, e.position, e.revision, e.stream, e.data])).toEqual([
      [given[0]!.event_id, 2, 0, 's-1', { n: 1 }],
      [given[1]!.event_id, 3, 1, 's-1', { n: 2 }],
    ]);
    expect((await logged()).map((row) => row.event_id)).toEqual([
      expect.any(String),
      given[0]!.event_id,
      given[1]!.event_id,
    ]);

    // The store goes on from there: revisions, positions and the tail all agree with the log.
    const next = await store.append(tenant, 's-1', [event(3)], 1);
    expect(next.events[0]!.position).toBe(4);
    await following;
    expect(seen.map((e) => e.position)).toEqual([1, 2, 3, 4]);
    expect(await store.readStream(tenant, 's-1')).toEqual([...events, ...next.events]);
    expect((await store.verifyChain(tenant)).ok).toBe(true);
  });

  it('answers StoreUnavailableError when COMMIT never reached the server, and nothing is recorded', async () => {
    await open();
    const cut = proxy.cutOn({ on: simpleQuery('COMMIT'), when: 'before' });
    await expect(store.append(tenant, 's-1', [event(1)], 'no_stream')).rejects.toThrow(StoreUnavailableError);
    await cut;
    expect(await logged()).toEqual([]);
    // The caller's retry is then safe: it records the events once.
    const retried = await store.append(tenant, 's-1', [event(1)], 'no_stream');
    expect(retried.events[0]!.position).toBe(1);
    expect(await logged()).toHaveLength(1);
  });

  it.each([
    ['at BEGIN', simpleQuery('BEGIN')],
    ['at the INSERT', bindOf('nexus_write')],
  ])(
    'answers StoreUnavailableError when the connection fails %s, before COMMIT, and nothing is recorded',
    async (_at, on) => {
      await open();
      const cut = proxy.cutOn({ on, when: 'after' });
      await expect(store.append(tenant, 's-1', [event(1)], 'no_stream')).rejects.toThrow(StoreUnavailableError);
      await cut;
      expect(await logged()).toEqual([]);
      expect((await store.append(tenant, 's-1', [event(1)], 'no_stream')).events[0]!.position).toBe(1);
    },
  );

  it('answers StoreUnavailableError when the server stays out of reach for the whole time it may take to find out', async () => {
    await open();
    const cut = proxy.cutOn({ on: simpleQuery('COMMIT'), when: 'after', thenDown: true });
    const given = event(1);
    const started = Date.now();
    await expect(store.append(tenant, 's-1', [given], 'no_stream')).rejects.toThrow(StoreUnavailableError);
    await cut;
    // It tried for its 10 s, then gave up: the outcome is unknown to it, yet the event was recorded.
    expect(Date.now() - started).toBeGreaterThanOrEqual(9_000);
    expect((await logged()).map((row) => row.event_id)).toEqual([given.event_id]);
    proxy.up();
    // The caller's retry with the same event ids finds them: still one copy.
    expect((await store.append(tenant, 's-1', [given], 'no_stream')).events[0]!.position).toBe(1);
    expect(await logged()).toHaveLength(1);
  });
});
