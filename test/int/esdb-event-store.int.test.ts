import {
  AccessDeniedError,
  EventStoreDBClient,
  jsonEvent,
  UnavailableError,
  type AllStreamResolvedEvent,
} from '@eventstore/db-client';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { PassThrough, Transform } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/events/envelope.js';
import type { Tenant } from '../../src/events/tenant.js';
import { StoreUnavailableError } from '../../src/store/event-store.js';
import { openEsdbEventStore } from '../../src/store/esdb/esdb-event-store.js';
import {
  esdbConnectionString,
  esdbEventId,
  esdbNames,
  escapeSegment,
  fromEsdbCurrent,
  toEsdbExpected,
} from '../../src/store/esdb/names.js';
import { catchUp, follow, type Subscription } from '../../src/store/esdb/reads.js';
import { eventStoreConformance } from '../support/event-store-conformance.js';

const url = process.env.EVENTSTORE_URL;
const SKIPPED =
  'EventStoreDB conformance skipped: EVENTSTORE_URL is not set (no EventStoreDB server on this machine; docker compose provides one)';

/** A prefix of its own per store, so that runs sharing one server never see each other's events. */
const freshPrefix = (): string => `t${randomUUID().replaceAll('-', '').slice(0, 16)}`;

it.skipIf(Boolean(url))(SKIPPED, () => {
  console.warn(SKIPPED);
});

describe.skipIf(!url)('EventStoreDB adapter against a server', () => {
  eventStoreConformance('eventstoredb', async () => {
    const prefix = freshPrefix();
    const store = await openEsdbEventStore({ connectionString: url!, prefix });
    return {
      store,
      reopen: async () => {
        await store.close();
        return openEsdbEventStore({ connectionString: url!, prefix });
      },
    };
  });

  const tenant: Tenant = { org_id: 'acme', project_id: 'p-1' };
  const event = (data: unknown) => ({
    event_id: randomUUID(),
    type: 'Thing',
    version: 1,
    data,
    metadata: { correlation_id: 'c', occurred_at: '2026-11-24T00:00:00.000Z' },
  });

  it('delivers every event once, in order, to a subscriber that stalls through a burst (the server drops a consumer it finds too slow; the store subscribes again)', async () => {
    const store = await openEsdbEventStore({ connectionString: url!, prefix: freshPrefix() });
    const controller = new AbortController();
    try {
      const subscription = store.subscribe({ tenant, after: 0, signal: controller.signal, batchSize: 10 });
      const batches = subscription[Symbol.asyncIterator]();
      await store.append(tenant, 's-0', [event({ i: 0 })], 'no_stream');
      const seen: RecordedEvent[] = [...((await batches.next()).value as RecordedEvent[])];
      const padding = 'x'.repeat(8192);
      for (let i = 1; i <= 400; i += 20) {
        await Promise.all(
          Array.from({ length: 20 }, (_, j) =>
            store.append(tenant, `s-${i + j}`, [event({ i: i + j, padding })], 'no_stream'),
          ),
        );
      }
      while (seen.length < 401) seen.push(...((await batches.next()).value as RecordedEvent[]));
      const positions = seen.map((e) => e.position);
      expect(new Set(positions).size).toBe(401);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
      expect(new Set(seen.map((e) => (e.data as unknown as { i: number }).i)).size).toBe(401);
    } finally {
      controller.abort();
      await store.close();
    }
  });

  it('seals each tenant chain after its appends, and reports a seal the stored events do not match', async () => {
    const prefix = freshPrefix();
    const store = await openEsdbEventStore({ connectionString: url!, prefix });
    const first = await store.append(tenant, 's-1', [event({ n: 1 })], 'no_stream');
    const last = await store.append(tenant, 's-2', [event({ n: 2 }), event({ n: 3 })], 'no_stream');
    await store.close(); // waits for the sealing passes
    const chainStream = esdbNames(prefix).chain(tenant);
    const client = EventStoreDBClient.connectionString(esdbConnectionString(url!));
    try {
      const seals = [];
      for await (const { event: sealed } of client.readStream(chainStream))
        seals.push(sealed?.data as { position: number; link: string });
      const reopened = await openEsdbEventStore({ connectionString: url!, prefix });
      const verdict = await reopened.verifyChain(tenant);
      expect(verdict).toMatchObject({ ok: true, events: 3, head: { position: last.events[1]!.position } });
      expect(seals.at(-1)).toEqual(verdict.head);

      await client.appendToStream(
        chainStream,
        jsonEvent({ type: 'ChainSealed', data: { position: first.events[0]!.position, link: 'f'.repeat(64) } }),
      );
      expect(await reopened.verifyChain(tenant)).toMatchObject({
        ok: false,
        broken_at: first.events[0]!.position,
        reason: expect.stringMatching(/out of order/),
      });
      await reopened.close();
    } finally {
      await client.dispose();
    }
  });

  it('refuses every call once closed', async () => {
    const store = await openEsdbEventStore({ connectionString: url!, prefix: freshPrefix() });
    await store.close();
    await expect(store.append(tenant, 's', [event({})], 'no_stream')).rejects.toThrow(StoreUnavailableError);
    await expect(store.readStream(tenant, 's')).rejects.toThrow(StoreUnavailableError);
    await expect(store.headPosition()).rejects.toThrow(StoreUnavailableError);
  });
});

describe('EventStoreDB adapter without a server', () => {
  it('fails to open on a server that does not answer, with StoreUnavailableError', async () => {
    // Port 9 (discard) on loopback: nothing listens there.
    await expect(openEsdbEventStore({ connectionString: 'esdb://127.0.0.1:9?tls=false' })).rejects.toThrow(
      StoreUnavailableError,
    );
  });

  describe('stream names', () => {
    const names = esdbNames('nexus');
    const text = fc.string({ unit: 'binary', maxLength: 12 });
    const tenant = fc.record({ org_id: text, project_id: text });

    it('map (tenant, stream) to one name, and back', () => {
      fc.assert(
        fc.property(tenant, text, (t, s) => {
          expect(names.parse(names.stream(t, s))).toEqual({ tenant: t, stream: s });
        }),
      );
      expect(names.stream({ org_id: 'alpha', project_id: 'one' }, 'command-42')).toBe('nexus-alpha~one~command-42');
    });

    it('never give two (tenant, stream) pairs one name', () => {
      fc.assert(
        fc.property(tenant, text, tenant, text, (t1, s1, t2, s2) => {
          const same = t1.org_id === t2.org_id && t1.project_id === t2.project_id && s1 === s2;
          expect(names.stream(t1, s1) === names.stream(t2, s2)).toBe(same);
        }),
      );
      // The cases a naive `${org}.${project}-${stream}` would merge.
      const pairs: Array<[Tenant, string]> = [
        [{ org_id: 'a', project_id: 'b-c' }, 'd'],
        [{ org_id: 'a', project_id: 'b' }, 'c-d'],
        [{ org_id: 'a.b', project_id: 'c' }, 'd'],
        [{ org_id: 'a', project_id: 'b.c' }, 'd'],
        [{ org_id: 'a~b', project_id: 'c' }, 'd'],
        [{ org_id: 'a', project_id: 'b~c' }, 'd'],
        [{ org_id: 'a', project_id: 'b' }, 'c~d'],
        [{ org_id: 'a%7E', project_id: 'b' }, 'c'],
      ];
      expect(new Set(pairs.map(([t, s]) => names.stream(t, s))).size).toBe(pairs.length);
    });

    it("give each tenant a prefix that starts its streams' names and no other tenant's", () => {
      fc.assert(
        fc.property(tenant, tenant, text, (t1, t2, s) => {
          const same = t1.org_id === t2.org_id && t1.project_id === t2.project_id;
          expect(names.stream(t2, s).startsWith(names.tenant(t1))).toBe(same);
          expect(names.stream(t2, s).startsWith(names.all)).toBe(true);
          expect(names.chain(t1).startsWith(names.all)).toBe(false);
        }),
      );
    });

    it('keep NEXUS instances with different prefixes apart', () => {
      const prefix = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,8}$/);
      fc.assert(
        fc.property(prefix, prefix, tenant, text, (p1, p2, t, s) => {
          expect(esdbNames(p2).stream(t, s).startsWith(esdbNames(p1).all)).toBe(p1 === p2);
        }),
      );
    });

    it('escape to letters, digits, "_", ".", "-" and %XX only', () => {
      fc.assert(
        fc.property(text, (s) => {
          expect(escapeSegment(s)).toMatch(/^(?:[A-Za-z0-9_.-]|%[0-9A-F]{2})*$/);
        }),
      );
    });

    it('refuse a prefix that could start another prefix or a name part', () => {
      for (const bad of ['', 'a-b', 'a~b', '1abc', '$all', 'a b']) expect(() => esdbNames(bad)).toThrow(RangeError);
    });
  });

  describe('expected revisions', () => {
    it("map to the client's", () => {
      expect(toEsdbExpected('any')).toBe('any');
      expect(toEsdbExpected('no_stream')).toBe('no_stream');
      expect(toEsdbExpected('stream_exists')).toBe('stream_exists');
      expect(toEsdbExpected(0)).toBe(0n);
      expect(toEsdbExpected(41)).toBe(41n);
      for (const bad of [-1, 1.5, Number.NaN, 2 ** 53]) expect(() => toEsdbExpected(bad)).toThrow(RangeError);
    });

    it("read the actual revision of the client's WrongExpectedVersionError", () => {
      expect(fromEsdbCurrent('no_stream')).toBe('no_stream');
      expect(fromEsdbCurrent(-1n)).toBe('no_stream');
      expect(fromEsdbCurrent(0n)).toBe(0);
      expect(fromEsdbCurrent(7n)).toBe(7);
    });
  });

  it('keeps lowercase UUID event ids, and maps any other id to a UUID of its own', () => {
    const uuid = randomUUID();
    expect(esdbEventId(uuid)).toBe(uuid);
    const shaped = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    for (const id of [uuid.toUpperCase(), 'evt-1', '', 'évènement']) {
      expect(esdbEventId(id)).toMatch(shaped);
      expect(esdbEventId(id)).toBe(esdbEventId(id));
    }
    expect(esdbEventId('evt-1')).not.toBe(esdbEventId('evt-2'));
  });

  it('reads KurrentDB connection strings as the client expects them', () => {
    expect(esdbConnectionString('kurrentdb://db:2113?tls=false')).toBe('esdb://db:2113?tls=false');
    expect(esdbConnectionString('kdb+discover://db:2113')).toBe('esdb+discover://db:2113');
    expect(esdbConnectionString('esdb://admin:changeit@db:2113')).toBe('esdb://admin:changeit@db:2113');
  });

  describe('reading $all, with subscriptions scripted here in place of the server', () => {
    const at = (position: number) =>
      ({ event: { position: { commit: BigInt(position), prepare: BigInt(position) } } }) as AllStreamResolvedEvent;

    /** Subscriptions that play `scripts` in turn, and the positions they were opened after. */
    function scripted(...scripts: Array<(subscription: PassThrough) => void>) {
      const opened: number[] = [];
      const unsubscribed: number[] = [];
      const open = (after: number): Subscription => {
        const index = opened.push(after) - 1;
        const subscription = Object.assign(new PassThrough({ objectMode: true }), {
          unsubscribe: async () => void unsubscribed.push(index),
        });
        setImmediate(() => scripts[index]?.(subscription));
        return subscription;
      };
      return { open, opened, unsubscribed };
    }

    async function positions(
      batches: AsyncIterable<Array<{ position?: { commit: bigint } }>>,
      count: number,
      controller: AbortController,
    ) {
      const seen: number[] = [];
      for await (const batch of batches) {
        seen.push(...batch.map((event) => Number(event.position!.commit)));
        if (seen.length >= count) controller.abort();
      }
      return seen;
    }

    it("ends a read at the server's caughtUp signal, after every event that came before it, however many wait in the buffer", async () => {
      const client = {
        subscribeToAll: () => {
          // Like the client's Subscription, 'caughtUp' is emitted from inside _transform; written at
          // once, most events still wait in the buffers when it is.
          const subscription = Object.assign(
            new Transform({
              objectMode: true,
              transform(chunk: number | 'caughtUp', _encoding, next) {
                if (chunk !== 'caughtUp') return next(null, at(chunk));
                this.emit('caughtUp');
                next();
              },
            }),
            { unsubscribe: async () => undefined },
          );
          for (let i = 1; i <= 100; i++) subscription.write(i);
          subscription.write('caughtUp');
          subscription.write(101);
          return subscription;
        },
      } as unknown as EventStoreDBClient;
      const seen: number[] = [];
      await catchUp(client, {
        after: 0,
        filter: { streamPrefix: 'nexus-' },
        onEvent: (event) => seen.push(Number(event.position.commit)) > 0,
      });
      expect(seen.slice(0, 100)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    });

    it('subscribes again after a drop, after the last event handed out, and hands nothing out twice', async () => {
      const { open, opened } = scripted(
        (s) => {
          s.write(at(10));
          s.write(at(20));
          setImmediate(() => s.emit('error', new UnavailableError(undefined, 'connection lost')));
        },
        (s) => {
          s.write(at(20));
          s.write(at(30));
        },
      );
      const controller = new AbortController();
      const seen = await positions(
        follow({ open, after: 0, batchSize: 10, signal: controller.signal, retryDelay: () => 1 }),
        3,
        controller,
      );
      expect(seen).toEqual([10, 20, 30]);
      expect(opened).toEqual([0, 20]);
    });

    it('subscribes again when a subscription ends without an error', async () => {
      const { open, opened } = scripted(
        (s) => {
          s.write(at(5));
          s.end();
        },
        (s) => s.write(at(6)),
      );
      const controller = new AbortController();
      const seen = await positions(
        follow({ open, after: 4, batchSize: 10, signal: controller.signal, retryDelay: () => 1 }),
        2,
        controller,
      );
      expect(seen).toEqual([5, 6]);
      expect(opened).toEqual([4, 5]);
    });

    it('hands over in one batch what has already arrived, up to the batch size', async () => {
      const { open } = scripted((s) => [1, 2, 3, 4, 5].forEach((p) => s.write(at(p))));
      const controller = new AbortController();
      const sizes: number[] = [];
      for await (const batch of follow({ open, after: 0, batchSize: 3, signal: controller.signal })) {
        sizes.push(batch.length);
        if (sizes.reduce((a, b) => a + b) >= 5) controller.abort();
      }
      expect(sizes).toEqual([3, 2]);
    });

    it('ends when the signal aborts, and lets go of the subscription', async () => {
      const { open, opened, unsubscribed } = scripted((s) => s.write(at(1)));
      const controller = new AbortController();
      const seen = await positions(follow({ open, after: 0, batchSize: 10, signal: controller.signal }), 1, controller);
      expect(seen).toEqual([1]);
      expect(opened).toEqual([0]);
      expect(unsubscribed).toContain(0);
    });

    it('gives up, with StoreUnavailableError, on an error a new subscription would meet again', async () => {
      const { open, opened } = scripted((s) =>
        setImmediate(() => s.emit('error', new AccessDeniedError(undefined, 'access denied'))),
      );
      const controller = new AbortController();
      await expect(
        positions(
          follow({ open, after: 0, batchSize: 10, signal: controller.signal, retryDelay: () => 1 }),
          1,
          controller,
        ),
      ).rejects.toThrow(StoreUnavailableError);
      expect(opened).toEqual([0]);
    });
  });
});
