import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/events/envelope.js';
import type { Tenant } from '../../src/events/tenant.js';
import { openPostgresEventStore } from '../../src/store/postgres/postgres-event-store.js';
import { distributedEnv, freshDatabase, freshQueues, SERVICES } from '../support/distributed.js';
import { spawnNexus, spawnWorker, type NexusProcess } from '../support/nexus-process.js';
import { API_KEY } from '../support/nexus.js';
import { waitUntil } from '../support/wait.js';

// The delivery limit with a supervisor and workers as processes: NEXUS on queues an older
// NEXUS declared, and a dead letter of a killed worker's task recovered by the supervisor.

const headersOf = (tenant: Tenant) => ({
  'x-api-key': API_KEY,
  'x-org-id': tenant.org_id,
  'x-project-id': tenant.project_id,
  'content-type': 'application/json',
});

async function post(
  url: string,
  tenant: Tenant,
  command_type: string,
  params: Record<string, unknown>,
): Promise<string> {
  const response = await fetch(`${url}/sidecar/command`, {
    method: 'POST',
    headers: headersOf(tenant),
    body: JSON.stringify({ command_type, params }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { command_id: string }).command_id;
}

let database: Awaited<ReturnType<typeof freshDatabase>>;
const processes: NexusProcess[] = [];
const undo: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  database = await freshDatabase();
});
afterEach(async () => {
  await Promise.allSettled(processes.splice(0).map((p) => p.kill('SIGKILL')));
  for (const step of undo.splice(0)) await step().catch(() => undefined);
});
afterAll(async () => {
  await database.drop();
});

/** One command's events. */
async function commandEvents(tenant: Tenant, commandId: string): Promise<RecordedEvent[]> {
  const store = await openPostgresEventStore({ connectionString: database.url });
  try {
    return (await store.readFeed({ tenant, after: 0, limit: 10_000 })).filter(
      (e) => (e.data as { command_id?: string }).command_id === commandId,
    );
  } finally {
    await store.close();
  }
}

async function supervisor(env: Record<string, string>): Promise<NexusProcess> {
  const started = await spawnNexus(
    { ...env, NEXUS_DATA_DIR: mkdtempSync(join(tmpdir(), 'nexus-sup-')) },
    { testCommands: true },
  );
  processes.push(started);
  return started;
}
async function worker(env: Record<string, string>): Promise<NexusProcess> {
  const started = await spawnWorker(env);
  processes.push(started);
  return started;
}
const workerIdOf = (p: NexusProcess) =>
  p.logs.find((line) => line.msg === 'worker is taking tasks')!.worker_id as string;

describe('the delivery limit, with NEXUS processes', () => {
  it('NEXUS starts on queues an older NEXUS declared without the limit, runs tasks, and warns how to get it', async () => {
    const queues = freshQueues();
    undo.push(queues.drop);
    const connection = await connect(SERVICES.rabbitmq);
    const channel = await connection.createChannel();
    for (const queue of [queues.TASK_QUEUE, queues.DLQ_QUEUE])
      await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await connection.close();
    const env = distributedEnv(database.url, queues);

    const sup = await supervisor(env);
    const work = await worker(env);
    const tenant = { org_id: 'limit', project_id: 'old' };
    const id = await post(sup.url, tenant, 'echo.test', { hello: 'old queue' });
    await waitUntil(async () => (await commandEvents(tenant, id)).some((e) => e.type === 'TaskSucceeded'), {
      timeoutMs: 30_000,
      what: 'the task to complete',
    });

    for (const process of [sup, work]) {
      const warning = process.logs.find((line) => line.level === 'warn' && line.queue === queues.TASK_QUEUE);
      expect(warning?.msg).toContain('without a delivery limit of 20');
      expect(warning?.remedy).toContain(`rabbitmqctl delete_queue ${queues.TASK_QUEUE}`);
      expect(warning?.remedy).toContain('rabbitmqctl set_policy');
    }
  });

  it("a killed worker's message dead-lettered past RABBITMQ_DELIVERY_LIMIT: the supervisor records the attempt lost, the task completes once", async () => {
    const queues = freshQueues();
    undo.push(queues.drop);
    // The heartbeat outlives the lease: the surviving worker takes the lease while the killed
    // one still looks alive, returns the message, and RabbitMQ dead-letters it.
    const env = {
      ...distributedEnv(database.url, queues),
      RABBITMQ_DELIVERY_LIMIT: '1',
      WORKER_HEARTBEAT_SECONDS: '3',
      TASK_LOCK_TTL_SECONDS: '1',
    };
    const journal = join(mkdtempSync(join(tmpdir(), 'nexus-journal-')), 'runs.log');
    const sup = await supervisor(env);
    const workers = [await worker(env), await worker(env)];
    const tenant = { org_id: 'limit', project_id: 'killed' };

    const id = await post(sup.url, tenant, 'test.record', { file: journal, line: 'run', ms: 60_000 });
    let executor = '';
    await waitUntil(
      async () => {
        const started = (await commandEvents(tenant, id)).find((e) => e.type === 'TaskStarted');
        executor = (started?.data as { executor_id?: string } | undefined)?.executor_id ?? '';
        return executor !== '';
      },
      { timeoutMs: 30_000, what: 'a worker to start the task' },
    );
    await workers.find((w) => workerIdOf(w) === executor)!.kill('SIGKILL');

    await waitUntil(async () => (await commandEvents(tenant, id)).some((e) => e.type === 'TaskSucceeded'), {
      timeoutMs: 60_000,
      what: 'the task to complete',
    });
    const events = await commandEvents(tenant, id);
    expect(events.map((e) => e.type)).toEqual([
      'CommandAccepted',
      'TaskQueued',
      'TaskStarted',
      'TaskFailed',
      'TaskRetryScheduled',
      'TaskStarted',
      'TaskSucceeded',
    ]);
    expect(events[3]!.data).toMatchObject({ attempt: 1, error: { code: 'WORKER_LOST' } });
    expect(readFileSync(journal, 'utf8').trim().split('\n')).toEqual(['run attempt=1', 'run attempt=2']);
    // recovered by the supervisor, from the DLQ
    expect(sup.logs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          command_id: id,
          dead_lettered_by: 'rabbitmq',
          reason: 'delivery_limit',
          from: queues.TASK_QUEUE,
          executor_id: executor,
        }),
      ]),
    );
  });
});
