import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../src/catalog/catalog.js';
import { defineCommand } from '../../src/catalog/define-command.js';
import { handleCommand } from '../../src/commands/handle-command.js';
import { commandLifeDecider } from '../../src/commands/command-life.js';
import { TaskLeases } from '../../src/distributed/redis/task-leases.js';
import { redisKeys } from '../../src/distributed/redis/keys.js';
import { commandStream } from '../../src/events/command-events.js';
import { createLogger } from '../../src/observability/logger.js';
import { memoryEventStore } from '../../src/store/memory/memory-event-store.js';
import { TaskMessageHandler } from '../../src/worker/handle-task-message.js';
import { SERVICES } from '../support/distributed.js';

// A worker's handling of task messages, with the real Redis and the in-memory log: copies of one
// message (redelivered, republished) never run a task twice, in one process or across two.

let redis: Redis;
beforeAll(async () => {
  redis = new Redis(SERVICES.redis);
  await redis.ping();
});
afterAll(() => redis.disconnect());

describe('task messages', () => {
  it('copies of one message, to one worker or two, run the task once', async () => {
    const store = memoryEventStore();
    const tenant = { org_id: `h${randomBytes(4).toString('hex')}`, project_id: 'p' };
    let running = 0;
    let runs = 0;
    let overlap = 0;
    const slow = defineCommand({
      type: 'test.slow',
      risk: 'GREEN',
      description: 'Takes 100 ms',
      params: z.object({}),
      handler: async () => {
        runs++;
        running++;
        overlap = Math.max(overlap, running);
        await new Promise((resolve) => setTimeout(resolve, 100));
        running--;
        return {};
      },
    });
    const catalog = new Catalog([slow]);
    const handler = (workerId: string) => {
      void redis.set(redisKeys.workerAlive(workerId), Date.now(), 'PX', 60_000);
      return new TaskMessageHandler({
        store,
        catalog,
        memory: () => ({
          get: async () => undefined,
          all: async () => ({}),
          set: async () => {},
          delete: async () => {},
        }),
        executorId: workerId,
        retryPolicy: { max_retries: 3, base_delay_ms: 10, max_delay_ms: 10 },
        triage: {
          requeue: [],
          hold: [],
          alarm: [],
          max_requeues: 0,
          ask_terms: { ttl_seconds: 3600, warning_seconds: 300 },
        },
        taskTimeoutMs: 10_000,
        logger: createLogger({ level: 'silent' }),
        now: () => new Date(),
        newEventId: () => randomUUID(),
        random: Math.random,
        redis,
        leases: new TaskLeases(redis, workerId, 60_000),
        leaseTtlMs: 60_000,
        heartbeatMs: 1000,
        shutdown: new AbortController().signal,
      });
    };
    const command_id = randomUUID();
    await handleCommand(
      store,
      commandLifeDecider,
      { tenant, stream: commandStream(command_id) },
      {
        type: 'SubmitCommand',
        data: {
          command_id,
          task_id: randomUUID(),
          command_type: 'test.slow',
          params: {},
          risk_level: 'GREEN',
          description: 'slow',
          ask_ttl_seconds: 60,
          ask_warning_seconds: 0,
        },
        metadata: { now: new Date(), correlation_id: 'c', actor: 'alice' },
      },
      { newEventId: () => randomUUID() },
    );
    const message = { tenant, command_id, correlation_id: 'c', attempt: 1 };
    const [one, two] = [handler('worker-one'), handler('worker-two')];
    const outcomes = await Promise.all([
      one.handle(message),
      one.handle(message),
      two.handle(message),
      one.handle(message),
    ]);
    expect(runs).toBe(1);
    expect(overlap).toBe(1);
    expect(outcomes.filter((o) => o === 'succeeded')).toHaveLength(1);
    const events = await store.readStream(tenant, commandStream(command_id));
    expect(events.map((e) => e.type)).toEqual(['CommandAccepted', 'TaskQueued', 'TaskStarted', 'TaskSucceeded']);
  });
});
