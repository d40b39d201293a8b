import { describe, expect, it } from 'vitest';
import { recordSubmission } from '../../src/usecases/submit-command.js';
import { commandStream } from '../../src/events/command-events.js';
import { tenantKey } from '../../src/events/tenant.js';
import { derivedId, newId } from '../../src/shared/ids.js';
import { createLogger } from '../../src/observability/logger.js';
import { DailyIngest } from '../../src/rag/daily-ingest.js';
import { memoryEventStore } from '../../src/store/memory/memory-event-store.js';

describe('the daily RAG ingest', () => {
  it('submits rag.ingest for its tenant once per day, however many times it fires', async () => {
    const store = memoryEventStore();
    const tenant = { org_id: 'default', project_id: 'nexus' };
    const ingest = () =>
      new DailyIngest({
        store,
        tenant,
        hour: 3,
        minute: 0,
        logger: createLogger({ level: 'silent' }),
        now: () => new Date('2026-11-24T03:00:00Z'),
        newId,
        askTtlSeconds: 60,
      });
    const day = new Date('2026-11-24T03:00:00Z');
    // two replicas fire for the same day; a third fires the next day
    const [a, b, c] = [ingest(), ingest(), ingest()];
    await a.fire(day);
    await b.fire(day);
    await c.fire(new Date('2026-11-25T03:00:00Z'));
    for (const replica of [a, b, c]) replica.stop();
    const feed = await store.readFeed({ tenant, after: 0, limit: 100 });
    const accepted = feed.filter((e) => e.type === 'CommandAccepted');
    expect(accepted.map((e) => (e.data as { command_type: string }).command_type)).toEqual([
      'rag.ingest',
      'rag.ingest',
    ]);
    expect(accepted.map((e) => e.metadata.correlation_id)).toEqual(['rag-ingest-2026-11-24', 'rag-ingest-2026-11-25']);
    const first = (accepted[0]!.data as { command_id: string }).command_id;
    expect((await store.readStream(tenant, commandStream(first))).map((e) => e.type)).toEqual([
      'CommandAccepted',
      'TaskQueued',
    ]);
  });

  it('is recorded as its own command though a client used the Idempotency-Key rag.ingest:<day> first', async () => {
    const store = memoryEventStore();
    const tenant = { org_id: 'default', project_id: 'nexus' };
    const key = 'rag.ingest:2026-12-07';
    // The command id POST /sidecar/command derives from a client's Idempotency-Key (src/http/routes/commands.ts).
    const clientId = derivedId('cmd', tenantKey(tenant), key);
    const now = new Date('2026-12-07T02:59:00Z');
    await recordSubmission(
      store,
      tenant,
      {
        type: 'SubmitCommand',
        data: {
          command_id: clientId,
          task_id: newId('task'),
          command_type: 'echo.test',
          params: { taken: true },
          risk_level: 'GREEN',
          description: 'a client that picked the same words',
          ask_ttl_seconds: 60,
          ask_warning_seconds: 0,
          idempotency_key: key,
          request_hash: 'client-request',
        },
        metadata: { now, correlation_id: 'client', actor: 'api-key' },
      },
      () => newId(),
    );
    const daily = new DailyIngest({
      store,
      tenant,
      hour: 3,
      minute: 0,
      logger: createLogger({ level: 'silent' }),
      now: () => now,
      newId,
      askTtlSeconds: 60,
    });
    await daily.fire(new Date('2026-12-07T03:00:00Z'));
    daily.stop();
    const accepted = (await store.readFeed({ tenant, after: 0, limit: 100 })).filter(
      (e) => e.type === 'CommandAccepted',
    );
    expect(accepted.map((e) => [(e.data as { command_type: string }).command_type, e.metadata.correlation_id])).toEqual(
      [
        ['echo.test', 'client'],
        ['rag.ingest', 'rag-ingest-2026-12-07'],
      ],
    );
    expect((accepted[1]!.data as { command_id: string }).command_id).not.toBe(clientId);
    expect((await store.readStream(tenant, commandStream(clientId))).map((e) => e.type)).toEqual([
      'CommandAccepted',
      'TaskQueued',
    ]);
  });
});
