import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/events/envelope.js';
import type { Tenant } from '../../src/events/tenant.js';
import { ConcurrencyError, type EventStore, type EventToAppend } from '../../src/store/event-store.js';

export interface StoreHarness {
  readonly store: EventStore;
  /** Closes the store and opens it again on the same data: what survives is what was durable. */
  readonly reopen: () => Promise<EventStore>;
}

const alpha: Tenant = { org_id: 'alpha', project_id: 'one' };
const beta: Tenant = { org_id: 'beta', project_id: 'one' };

const event = (type = 'Thing', data: unknown = { n: 1 }): EventToAppend => ({
  event_id: randomUUID(),
  type,
  version: 1,
  data,
  metadata: { correlation_id: 'corr', occurred_at: '2026-11-23T10:00:00.000Z' },
});

const positions = (events: readonly RecordedEvent[]) => events.map((e) => e.position);

async function collect(iterable: AsyncIterable<readonly RecordedEvent[]>, count: number): Promise<RecordedEvent[]> {
  const seen: RecordedEvent[] = [];
  for await (const batch of iterable) {
    seen.push(...batch);
    if (seen.length >= count) break;
  }
  return seen;
}

/**
 * The contract of the `EventStore` port. Every adapter runs it:
 *   eventStoreConformance('sqlite', async () => ({ store, reopen }));
 */
export function eventStoreConformance(
  name: string,
  open: () => Promise<StoreHarness>,
  can: { leaveOutPayloads?: boolean } = {},
): void {
  describe(`EventStore conformance: ${name}`, () => {
    const opened: EventStore[] = [];
    const harness = async () => {
      const h = await open();
      opened.push(h.store);
      return {
        ...h,
        reopen: async () => {
          const store = await h.reopen();
          opened.push(store);
          return store;
        },
      };
    };
    afterEach(async () => {
      await Promise.allSettled(opened.splice(0).map((s) => s.close()));
    });

    it('appends to a new stream and reads it back in order, with revisions from 0', async () => {
      const { store } = await harness();
      const result = await store.append(
        alpha,
        's-1',
        [event('A', { a: 1 }), event('B', { b: [1, 'two', null] })],
        'no_stream',
      );
      expect(result.revision).toBe(1);
      const read = await store.readStream(alpha, 's-1');
      expect(read.map((e) => [e.type, e.revision, e.data])).toEqual([
        ['A', 0, { a: 1 }],
        ['B', 1, { b: [1, 'two', null] }],
      ]);
      expect(read[0]!.metadata).toEqual({ correlation_id: 'corr', occurred_at: '2026-11-23T10:00:00.000Z' });
      expect(read[0]!.tenant).toEqual(alpha);
      expect(positions(read)).toEqual(positions(result.events));
    });

    it('reads an unknown stream as empty', async () => {
      const { store } = await harness();
      expect(await store.readStream(alpha, 'nothing-here')).toEqual([]);
    });

    it('gives strictly increasing global positions', async () => {
      const { store } = await harness();
      await store.append(alpha, 's-1', [event(), event()], 'no_stream');
      await store.append(beta, 's-2', [event()], 'no_stream');
      await store.append(alpha, 's-1', [event()], 1);
      const all = await store.readFeed({ after: 0, limit: 100 });
      const seen = positions(all);
      expect(seen).toHaveLength(4);
      for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
      expect(await store.headPosition()).toBe(seen[3]);
    });

    it('checks the expected revision and surfaces a conflict as ConcurrencyError', async () => {
      const { store } = await harness();
      await expect(store.append(alpha, 's-1', [event()], 0)).rejects.toThrow(ConcurrencyError);
      await expect(store.append(alpha, 's-1', [event()], 'stream_exists')).rejects.toThrow(ConcurrencyError);
      await store.append(alpha, 's-1', [event()], 'no_stream');
      await expect(store.append(alpha, 's-1', [event()], 'no_stream')).rejects.toThrow(ConcurrencyError);
      await expect(store.append(alpha, 's-1', [event()], 5)).rejects.toThrow(ConcurrencyError);
      await store.append(alpha, 's-1', [event()], 0);
      await store.append(alpha, 's-1', [event()], 'stream_exists');
      await store.append(alpha, 's-1', [event()], 'any');
      expect((await store.readStream(alpha, 's-1')).map((e) => e.revision)).toEqual([0, 1, 2, 3]);
    });

    it('lets exactly one of many concurrent appends at the same revision win', async () => {
      const { store } = await harness();
      await store.append(alpha, 's-1', [event()], 'no_stream');
      const outcomes = await Promise.allSettled(
        Array.from({ length: 20 }, () => store.append(alpha, 's-1', [event()], 0)),
      );
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(rejected).toHaveLength(19);
      for (const r of rejected) expect(r.reason).toBeInstanceOf(ConcurrencyError);
      expect(await store.readStream(alpha, 's-1')).toHaveLength(2);
    });

    it('fails a conflicting append alone, not the appends committed with it', async () => {
      const { store } = await harness();
      const [ok, conflict, other] = await Promise.allSettled([
        store.append(alpha, 's-1', [event()], 'no_stream'),
        store.append(alpha, 's-1', [event()], 'no_stream'),
        store.append(alpha, 's-2', [event()], 'no_stream'),
      ]);
      expect(ok.status).toBe('fulfilled');
      expect(conflict.status).toBe('rejected');
      expect(other.status).toBe('fulfilled');
      expect(await store.readStream(alpha, 's-2')).toHaveLength(1);
    });

    it('fails an append whose data JSON cannot hold (nested past the stack, a cycle) alone, without throwing out of the store', async () => {
      const { store } = await harness();
      let deep: Record<string, unknown> = {};
      for (let i = 0; i < 20_000; i++) deep = { deeper: deep };
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const [tooDeep, cycle, other] = await Promise.allSettled([
        store.append(alpha, 's-deep', [event('Thing', deep)], 'no_stream'),
        store.append(alpha, 's-cycle', [event('Thing', cyclic)], 'no_stream'),
        store.append(alpha, 's-fine', [event()], 'no_stream'),
      ]);
      expect(tooDeep.status).toBe('rejected');
      expect(cycle.status).toBe('rejected');
      expect(other.status).toBe('fulfilled');
      expect(await store.readStream(alpha, 's-deep')).toEqual([]);
      expect(await store.readStream(alpha, 's-fine')).toHaveLength(1);
      // The store goes on appending.
      await store.append(alpha, 's-after', [event()], 'no_stream');
      expect(await store.readStream(alpha, 's-after')).toHaveLength(1);
    });

    it('treats the same event ids appended again as the same append', async () => {
      const { store } = await harness();
      const batch = [event(), event()];
      const first = await store.append(alpha, 's-1', batch, 'no_stream');
      const again = await store.append(alpha, 's-1', batch, 'no_stream');
      expect(positions(again.events)).toEqual(positions(first.events));
      expect(again.revision).toBe(first.revision);
      expect(await store.readStream(alpha, 's-1')).toHaveLength(2);
      expect(await store.headPosition()).toBe(first.events[1]!.position);
    });

    it('refuses event ids already used by another stream', async () => {
      const { store } = await harness();
      const used = event();
      await store.append(alpha, 's-1', [used], 'no_stream');
      await expect(store.append(alpha, 's-2', [used], 'no_stream')).rejects.toThrow(ConcurrencyError);
    });

    it('keeps tenants apart: same stream names, separate feeds', async () => {
      const { store } = await harness();
      await store.append(alpha, 'shared', [event('A')], 'no_stream');
      await store.append(beta, 'shared', [event('B')], 'no_stream');
      expect((await store.readStream(alpha, 'shared')).map((e) => e.type)).toEqual(['A']);
      expect((await store.readStream(beta, 'shared')).map((e) => e.type)).toEqual(['B']);
      const alphaFeed = await store.readFeed({ tenant: alpha, after: 0, limit: 10 });
      expect(alphaFeed.map((e) => e.type)).toEqual(['A']);
      expect(alphaFeed.every((e) => e.tenant.org_id === 'alpha')).toBe(true);
    });

    it('pages the feed by position, with an optional upper bound', async () => {
      const { store } = await harness();
      for (let i = 0; i < 10; i++) await store.append(alpha, `s-${i}`, [event('T', { i })], 'no_stream');
      const all = await store.readFeed({ tenant: alpha, after: 0, limit: 100 });
      const page = await store.readFeed({ tenant: alpha, after: all[2]!.position, limit: 3 });
      expect(page.map((e) => (e.data as unknown as { i: number }).i)).toEqual([3, 4, 5]);
      const bounded = await store.readFeed({ tenant: alpha, after: 0, upTo: all[4]!.position, limit: 100 });
      expect(bounded).toHaveLength(5);
      expect(await store.readFeed({ tenant: alpha, after: all[9]!.position, limit: 100 })).toEqual([]);
    });

    it('cuts a page by bytes as well as count (at least one event), so a reader goes on until an empty page', async () => {
      const { store } = await harness();
      const big = 'x'.repeat(100_000);
      for (let i = 0; i < 6; i++) await store.append(alpha, `s-big-${i}`, [event('Thing', { i, big })], 'no_stream');
      const first = await store.readFeed({ tenant: alpha, after: 0, limit: 100, maxBytes: 250_000 });
      expect(first.length).toBeGreaterThanOrEqual(1);
      expect(first.length).toBeLessThanOrEqual(3);
      const one = await store.readFeed({ tenant: alpha, after: 0, limit: 100, maxBytes: 1 });
      expect(one).toHaveLength(1);
      const all: RecordedEvent[] = [];
      for (let after = 0; ;) {
        const page = await store.readFeed({ tenant: alpha, after, limit: 100, maxBytes: 250_000 });
        if (page.length === 0) break;
        all.push(...page);
        after = page.at(-1)!.position;
      }
      expect(all.map((e) => (e.data as unknown as { i: number }).i)).toEqual([0, 1, 2, 3, 4, 5]);
    });

    it(`reads the log without payloads for a reader of ids and status${can.leaveOutPayloads ? ' (params and result left out)' : ' (this store sends them anyway)'}`, async () => {
      const { store: writer, reopen } = await harness();
      await writer.append(
        alpha,
        's-1',
        [
          event('CommandAccepted', { command_id: 'c', params: { big: 'x'.repeat(1000) } }),
          event('TaskSucceeded', { command_id: 'c', result: { big: 'y' } }),
        ],
        'no_stream',
      );
      await writer.append(alpha, 's-2', [event('AskCreated', { ask_id: 'a', params: { kept: true } })], 'no_stream');
      // Read as at a start: what was just written is not in memory any more.
      const store = await reopen();
      const full = await store.readFeed({ after: 0, limit: 10 });
      const lean = await store.readFeed({ after: 0, limit: 10, withoutPayloads: true });
      expect(lean.map((e) => [e.position, e.type, e.event_id, e.revision])).toEqual(
        full.map((e) => [e.position, e.type, e.event_id, e.revision]),
      );
      expect(lean[2]!.data).toEqual({ ask_id: 'a', params: { kept: true } });
      if (can.leaveOutPayloads) {
        expect(lean[0]!.data).toEqual({ command_id: 'c', params: {} });
        expect(lean[1]!.data).toEqual({ command_id: 'c', result: null });
      } else {
        expect(lean).toEqual(full);
      }
    });

    it('filters the feed by event type', async () => {
      const { store } = await harness();
      for (let i = 0; i < 6; i++)
        await store.append(
          i % 2 ? alpha : beta,
          `s-${i}`,
          [event(i % 3 === 0 ? 'Wanted' : 'Other', { i })],
          'no_stream',
        );
      const all = await store.readFeed({ after: 0, types: ['Wanted'], limit: 10 });
      expect(all.map((e) => (e.data as unknown as { i: number }).i)).toEqual([0, 3]);
      const mine = await store.readFeed({ tenant: alpha, after: 0, types: ['Wanted', 'Other'], limit: 10 });
      expect(mine.map((e) => (e.data as unknown as { i: number }).i)).toEqual([1, 3, 5]);
      expect(await store.readFeed({ after: 0, types: [], limit: 10 })).toEqual([]);
    });

    it('subscribes: catches up from a position, then follows live appends', async () => {
      const { store } = await harness();
      await store.append(alpha, 's-1', [event('Old1'), event('Old2')], 'no_stream');
      const controller = new AbortController();
      const seen = collect(store.subscribe({ after: 0, signal: controller.signal }), 4);
      await store.append(alpha, 's-2', [event('New1')], 'no_stream');
      await store.append(beta, 's-3', [event('New2')], 'no_stream');
      const events = await seen;
      controller.abort();
      expect(events.map((e) => e.type)).toEqual(['Old1', 'Old2', 'New1', 'New2']);
    });

    it('subscribes to one tenant only', async () => {
      const { store } = await harness();
      const controller = new AbortController();
      const seen = collect(store.subscribe({ tenant: beta, after: 0, signal: controller.signal }), 2);
      await store.append(alpha, 's-1', [event('A1')], 'no_stream');
      await store.append(beta, 's-2', [event('B1')], 'no_stream');
      await store.append(alpha, 's-3', [event('A2')], 'no_stream');
      await store.append(beta, 's-4', [event('B2')], 'no_stream');
      const events = await seen;
      controller.abort();
      expect(events.map((e) => e.type)).toEqual(['B1', 'B2']);
    });

    it('ends a subscription when it is aborted, and delivers nothing after', async () => {
      const { store } = await harness();
      const controller = new AbortController();
      const seen: string[] = [];
      const iterating = (async () => {
        for await (const batch of store.subscribe({ after: 0, signal: controller.signal })) {
          seen.push(...batch.map((e) => e.type));
          if (seen.includes('Before')) controller.abort();
        }
        return 'ended';
      })();
      await store.append(alpha, 's-1', [event('Before')], 'no_stream');
      await expect(iterating).resolves.toBe('ended');
      await store.append(alpha, 's-2', [event('After')], 'no_stream');
      expect(seen).toEqual(['Before']);
    });

    it('delivers every event once, in order, to a subscriber during a concurrent burst', async () => {
      const { store } = await harness();
      const controller = new AbortController();
      const seen = collect(store.subscribe({ after: 0, signal: controller.signal }), 500);
      await Promise.all(
        Array.from({ length: 500 }, (_, i) =>
          store.append(i % 2 ? alpha : beta, `s-${i}`, [event('T', { i })], 'no_stream'),
        ),
      );
      const events = await seen;
      controller.abort();
      const all = positions(events);
      expect(new Set(all).size).toBe(500);
      expect([...all].sort((a, b) => a - b)).toEqual(all);
    });

    it('keeps a hash chain per tenant that verifies over what was appended', async () => {
      const { store } = await harness();
      expect(await store.verifyChain(alpha)).toEqual({ ok: true, events: 0, head: null });
      await store.append(alpha, 's-1', [event('A'), event('B')], 'no_stream');
      await store.append(beta, 's-1', [event('X')], 'no_stream');
      const last = await store.append(
        alpha,
        's-2',
        [event('C', { nested: { deep: [1, 2] }, text: 'line\nbreak "quoted"' })],
        'no_stream',
      );
      const alphaChain = await store.verifyChain(alpha);
      expect(alphaChain).toMatchObject({ ok: true, events: 3, head: { position: last.events[0]!.position } });
      expect(alphaChain.head!.link).toMatch(/^[0-9a-f]{64}$/);
      expect(await store.verifyChain(beta)).toMatchObject({ ok: true, events: 1 });
    });

    it('verifies a sound chain while appends keep landing', async () => {
      const { store } = await harness();
      const appends = Promise.all(
        Array.from({ length: 300 }, (_, i) => store.append(alpha, `s-${i}`, [event()], 'no_stream')),
      );
      const verdicts = [];
      for (let i = 0; i < 20; i++) verdicts.push(await store.verifyChain(alpha));
      await appends;
      verdicts.push(await store.verifyChain(alpha));
      expect(verdicts.filter((v) => !v.ok)).toEqual([]);
      expect(verdicts.at(-1)!.events).toBe(300);
    });

    it('keeps what was acknowledged across a close and reopen', async () => {
      const h = await harness();
      const acknowledged = await Promise.all(
        Array.from({ length: 50 }, (_, i) => h.store.append(alpha, `s-${i}`, [event('T', { i })], 'no_stream')),
      );
      const reopened = await h.reopen();
      const feed = await reopened.readFeed({ tenant: alpha, after: 0, limit: 100 });
      expect(positions(feed)).toEqual(acknowledged.map((a) => a.events[0]!.position));
      await reopened.append(alpha, 's-new', [event()], 'no_stream');
      expect(await reopened.headPosition()).toBeGreaterThan(feed[feed.length - 1]!.position);
    });
  });
}
