import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateHistory } from '../../src/fanout/state-history.js';
import { foldFeed } from '../../src/projections/fold-feed.js';
import { snapshotProjection } from '../../src/projections/snapshot.js';
import type { EventStore } from '../../src/store/event-store.js';
import { openSqliteEventStore } from '../../src/store/sqlite/sqlite-event-store.js';
import { events as life, tenant } from '../support/fixtures.js';
import { newId } from '../../src/shared/ids.js';

const projection = snapshotProjection({ worklogKeep: 5 });
let store: EventStore;

async function appendCommand(n: number) {
  const ids = { command_id: `cmd-${n}`, task_id: `task-${n}`, command_type: 'echo.test' };
  const domain = [life.accepted(), life.queued(), life.started(), life.succeeded()].map((e) => ({
    ...e,
    data: { ...e.data, ...ids },
  }));
  const metadata = { correlation_id: `c-${n}`, occurred_at: new Date(1_800_000_000_000 + n).toISOString() };
  await store.append(
    tenant,
    `command-cmd-${n}`,
    domain.map((e) => ({ ...e, event_id: newId(), version: 1, metadata })),
    'no_stream',
  );
  await store.append(
    { org_id: 'noise', project_id: 'p' },
    `command-noise-${n}`,
    [{ ...life.accepted(), event_id: newId(), version: 1, metadata }],
    'no_stream',
  );
}

beforeAll(async () => {
  store = await openSqliteEventStore({ path: join(mkdtempSync(join(tmpdir(), 'nexus-history-')), 'nexus.db') });
});
afterAll(() => store.close());

describe('StateHistory (snapshot as of a past position)', () => {
  it('gives, at every position, exactly the fold of the events up to it, before and after loading', async () => {
    for (let n = 0; n < 12; n++) await appendCommand(n);
    let hub = await store.headPosition();
    const history = new StateHistory({ store, tenant, projection, checkpointEvery: 3, hubPosition: () => hub });
    expect(await history.at(17, () => hub)).toEqual(await foldFeed(store, tenant, projection, 17));
    await history.current();
    // then live events, as the hub hands them over
    for (let n = 12; n < 16; n++) {
      await appendCommand(n);
      const fresh = await store.readFeed({ tenant, after: hub, limit: 100 });
      for (const event of fresh) history.apply(event);
      hub = await store.headPosition();
    }
    for (let position = 0; position <= hub; position++) {
      expect(await history.at(position, () => hub), `at ${position}`).toEqual(
        await foldFeed(store, tenant, projection, position),
      );
    }
    expect((await history.current()).state).toEqual(await foldFeed(store, tenant, projection, hub));
  });

  it('folds the whole history once, on first use: later past states fold at most checkpointEvery events', async () => {
    const hub = await store.headPosition();
    let read = 0;
    const counting: EventStore = {
      ...store,
      readFeed: async (query) => {
        const page = await store.readFeed(query);
        read += page.length;
        return page;
      },
    };
    const history = new StateHistory({
      store: counting,
      tenant,
      projection,
      checkpointEvery: 4,
      hubPosition: () => hub,
    });
    await history.at(10, () => hub);
    const whole = read;
    expect(whole).toBeGreaterThan(20);
    for (const position of [5, 30, 47, 60]) {
      read = 0;
      expect(await history.at(position, () => hub)).toEqual(await foldFeed(store, tenant, projection, position));
      expect(read, `events read for position ${position}`).toBeLessThanOrEqual(4 * 2);
    }
  });
});
