import { describe, expect, it } from 'vitest';
import { commandStream } from '../../src/events/command-events.js';
import { newId } from '../../src/ids.js';
import { createLogger } from '../../src/logger.js';
import { DailyIngest } from '../../src/rag/daily-ingest.js';
import { memoryEventStore } from '../../src/store/memory-event-store.js';

describe('the daily RAG ingest', () => {
  it('submits rag.ingest for its tenant once per day, however many times it fires', async () => {
    const store = memoryEventStore();
    const tenant = { org_id: 'default', project_id: 'nexus' };
    const ingest = () =>
      new DailyIngest({ store, tenant, hour: 3, minute: 0, logger: createLogger({ level: 'silent' }), now: () => new Date('2026-11-24T03:00:00Z'), newId, askTtlSeconds: 60 });
    const day = new Date('2026-11-24T03:00:00Z');
    // two replicas fire for the same day; a third fires the next day
    const [a, b, c] = [ingest(), ingest(), ingest()];
    await a.fire(day);
    await b.fire(day);
    await c.fire(new Date('2026-11-25T03:00:00Z'));
    for (const replica of [a, b, c]) replica.stop();
    const feed = await store.readFeed({ tenant, after: 0, limit: 100 });
    const accepted = feed.filter((e) => e.type === 'CommandAccepted');
    expect(accepted.map((e) => (e.data as { command_type: string }).command_type)).toEqual(['rag.ingest', 'rag.ingest']);
    expect(accepted.map((e) => e.metadata.correlation_id)).toEqual(['rag-ingest-2026-11-24', 'rag-ingest-2026-11-25']);
    const first = (accepted[0]!.data as { command_id: string }).command_id;
    expect((await store.readStream(tenant, commandStream(first))).map((e) => e.type)).toEqual(['CommandAccepted', 'TaskQueued']);
  });
});
