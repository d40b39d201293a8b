import { randomBytes, randomUUID } from 'node:crypto';
import { connect, type ChannelModel } from 'amqplib';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../src/catalog/catalog.js';
import { commandLifeDecider } from '../../src/commands/command-life.js';
import { handleCommand } from '../../src/commands/handle-command.js';
import type { RetryPolicy } from '../../src/commands/retry-policy.js';
import { recoverDeadLetter, type DeadLetterDeps, type DeadLetterOutcome } from '../../src/distributed/dlq-recovery.js';
import { QueueConsumer, type Delivery } from '../../src/distributed/rabbitmq/queue-consumer.js';
import { QueuePublisher } from '../../src/distributed/rabbitmq/queue-publisher.js';
import { queueOptions, type QueueTopology } from '../../src/distributed/rabbitmq/queue-topology.js';
import { redisKeys } from '../../src/distributed/redis/keys.js';
import type { TaskMessage } from '../../src/distributed/task-message.js';
import { commandStream } from '../../src/events/command-events.js';
import type { Tenant } from '../../src/events/tenant.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';
import { openPostgresEventStore, type PostgresEventStore } from '../../src/store/postgres/postgres-event-store.js';
import { loadTask } from '../../src/worker/load-task.js';
import { freshDatabase, freshQueues, SERVICES } from '../support/distributed.js';
import { waitUntil } from '../support/wait.js';

// TASK_QUEUE's delivery limit on a real RabbitMQ, and the supervisor's recovery of what it
// dead-letters, from a real PostgreSQL log and real Redis heartbeats.

const HEARTBEAT_MS = 200;
const silent = createLogger({ level: 'silent' });

let database: Awaited<ReturnType<typeof freshDatabase>>;
let store: PostgresEventStore;
let redis: Redis;
let amqp: ChannelModel;
const cleanup: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  database = await freshDatabase();
  store = await openPostgresEventStore({ connectionString: database.url });
  redis = new Redis(SERVICES.redis);
  amqp = await connect(SERVICES.rabbitmq);
});
afterEach(async () => {
  for (const undo of cleanup.splice(0).reverse()) await undo().catch(() => undefined);
});
afterAll(async () => {
  await amqp.close();
  redis.disconnect();
  await store.close();
  await database.drop();
});

function deps(retryPolicy: RetryPolicy = { max_retries: 3, base_delay_ms: 10, max_delay_ms: 10 }): DeadLetterDeps {
  return {
    store,
    catalog: new Catalog([]),
    memory: () => ({ get: async () => undefined, all: async () => ({}), set: async () => {}, delete: async () => {} }),
    executorId: 'supervisor-test',
    retryPolicy,
    triage: {
      requeue: [],
      hold: [],
      alarm: [],
      max_requeues: 0,
      ask_terms: { ttl_seconds: 3600, warning_seconds: 300 },
    },
    taskTimeoutMs: 10_000,
    logger: silent,
    now: () => new Date(),
    newEventId: () => randomUUID(),
    random: Math.random,
    redis,
    heartbeatMs: HEARTBEAT_MS,
  };
}

const newTenant = (): Tenant => ({ org_id: `dl${randomBytes(4).toString('hex')}`, project_id: 'p' });

/** A GREEN command queued in the log, and, with `runningOn`, its first attempt started by that executor. */
async function command(tenant: Tenant, runningOn?: string): Promise<{ command_id: string; task_id: string }> {
  const command_id = randomUUID();
  const task_id = randomUUID();
  const on = { tenant, stream: commandStream(command_id) };
  const metadata = { now: new Date(), correlation_id: `c-${command_id}`, actor: 'alice' };
  await handleCommand(
    store,
    commandLifeDecider,
    on,
    {
      type: 'SubmitCommand',
      data: {
        command_id,
        task_id,
        command_type: 'test.any',
        params: {},
        risk_level: 'GREEN',
        description: 'any',
        ask_ttl_seconds: 60,
        ask_warning_seconds: 0,
      },
      metadata,
    },
    { newEventId: () => randomUUID() },
  );
  if (runningOn) {
    await handleCommand(
      store,
      commandLifeDecider,
      on,
      { type: 'StartTask', data: { task_id, attempt: 1, executor_id: runningOn }, metadata },
      { newEventId: () => randomUUID() },
    );
  }
  return { command_id, task_id };
}

const taskOf = (tenant: Tenant, command_id: string) => loadTask(store, tenant, command_id, `c-${command_id}`);

/** Fresh queues with a delivery limit of 2, declared by a publisher (as the supervisor does). */
async function queues(logger: Logger = silent): Promise<{ topology: QueueTopology; publisher: QueuePublisher }> {
  const names = freshQueues();
  cleanup.push(names.drop);
  const topology = { tasks: names.TASK_QUEUE, dlq: names.DLQ_QUEUE, deliveryLimit: 2 };
  const publisher = new QueuePublisher(SERVICES.rabbitmq, topology, logger);
  cleanup.push(() => publisher.close());
  await publisher.start(10_000);
  return { topology, publisher };
}

/** A worker that never takes a task: it returns every delivery to the queue at once. */
async function refusingWorker(queue: string): Promise<{ deliveries: () => number }> {
  const channel = await amqp.createChannel();
  cleanup.push(() => channel.close());
  let deliveries = 0;
  await channel.consume(queue, (message) => {
    if (!message) return;
    deliveries++;
    channel.nack(message, false, true);
  });
  return { deliveries: () => deliveries };
}

interface Handled {
  readonly message: TaskMessage;
  readonly delivery: Delivery;
  readonly outcome?: DeadLetterOutcome;
  readonly error?: string;
}

/** The supervisor's triage consumer on the DLQ, with the recovery; every handling is kept. */
async function triage(topology: QueueTopology, recoveryDeps: DeadLetterDeps): Promise<Handled[]> {
  const handled: Handled[] = [];
  const consumer = new QueueConsumer({
    url: SERVICES.rabbitmq,
    queues: topology,
    queue: 'dlq',
    prefetch: 4,
    name: 'test-triage',
    logger: silent,
    handle: async (message, delivery) => {
      try {
        handled.push({ message, delivery, outcome: await recoverDeadLetter(recoveryDeps, message, delivery) });
      } catch (error) {
        handled.push({ message, delivery, error: (error as Error).name });
        throw error;
      }
    },
  });
  cleanup.push(() => consumer.stop(2000));
  await consumer.start(10_000);
  return handled;
}

const byRabbit = (topology: QueueTopology): Delivery => ({
  deadLettered: { reason: 'delivery_limit', queue: topology.tasks },
});

describe('TASK_QUEUE delivery limit and the recovery of dead letters', () => {
  it('a message returned past the limit lands in the DLQ; the attempt of a lost worker is recorded as lost and retried', async () => {
    const tenant = newTenant();
    const { command_id } = await command(tenant, `worker-gone-${randomUUID()}`);
    const { topology, publisher } = await queues();
    const worker = await refusingWorker(topology.tasks);
    const handled = await triage(topology, deps());

    await publisher.publishTask(await taskOf(tenant, command_id));
    await waitUntil(() => handled.length > 0, { what: 'the dead letter to be recovered' });

    // delivered once, then returned twice (the limit), then dead-lettered by RabbitMQ
    expect(worker.deliveries()).toBe(3);
    expect(handled).toEqual([
      {
        message: expect.objectContaining({ command_id, attempt: 1 }),
        delivery: byRabbit(topology),
        outcome: 'abandoned',
      },
    ]);
    const events = await store.readStream(tenant, commandStream(command_id));
    expect(events.map((e) => e.type)).toEqual([
      'CommandAccepted',
      'TaskQueued',
      'TaskStarted',
      'TaskFailed',
      'TaskRetryScheduled',
    ]);
    expect(events[3]!.data).toMatchObject({ attempt: 1, error: { code: 'WORKER_LOST' }, retryable: true });
    expect((await taskOf(tenant, command_id)).state).toMatchObject({ status: 'retry_scheduled', attempt: 2 });
    await waitUntil(async () => (await publisher.depth('dlq')) === 0, { what: 'the dead letter to be acked' });
  });

  it("out of retries, the lost attempt dead-letters the task; the supervisor's dead letter is then triaged", async () => {
    const tenant = newTenant();
    const { command_id } = await command(tenant, `worker-gone-${randomUUID()}`);
    const { topology, publisher } = await queues();
    await refusingWorker(topology.tasks);
    const handled = await triage(topology, deps({ max_retries: 0, base_delay_ms: 10, max_delay_ms: 10 }));

    await publisher.publishTask(await taskOf(tenant, command_id));
    await waitUntil(() => handled.length === 1, { what: 'the dead letter to be recovered' });
    expect(handled[0]!.outcome).toBe('abandoned');
    expect((await taskOf(tenant, command_id)).state).toMatchObject({
      status: 'dead_lettered',
      attempts: 1,
      error: { code: 'WORKER_LOST' },
      triage: 'pending',
    });

    // what the dispatcher does with a dead-lettered task
    await publisher.publishDeadLetter(await taskOf(tenant, command_id));
    await waitUntil(() => handled.length === 2, { what: 'the dead letter to be triaged' });
    expect(handled[1]).toMatchObject({ delivery: {}, outcome: 'triaged' });
    const types = (await store.readStream(tenant, commandStream(command_id))).map((e) => e.type);
    expect(types.slice(-3)).toEqual(['TaskFailed', 'TaskDeadLettered', 'DeadLetterTriaged']);
  });

  it('a task running on a live worker is left to it: its dead letter waits in the DLQ until the worker is gone', async () => {
    const tenant = newTenant();
    const executor = `worker-alive-${randomUUID()}`;
    await redis.set(redisKeys.workerAlive(executor), Date.now(), 'PX', 60_000);
    cleanup.push(() => redis.del(redisKeys.workerAlive(executor)));
    const { command_id } = await command(tenant, executor);
    const { topology, publisher } = await queues();
    await refusingWorker(topology.tasks);
    const handled = await triage(topology, deps());

    await publisher.publishTask(await taskOf(tenant, command_id));
    // looked at again and again (once a second), never dropped while the worker lives
    await waitUntil(() => handled.length >= 2, { what: 'the dead letter to come back' });
    expect(handled.every((h) => h.error === 'NotNowError')).toBe(true);
    expect((await taskOf(tenant, command_id)).state).toMatchObject({ status: 'running', executor_id: executor });

    await redis.del(redisKeys.workerAlive(executor));
    await waitUntil(() => handled.some((h) => h.outcome !== undefined), { what: 'the attempt to be recorded as lost' });
    expect(handled.at(-1)).toMatchObject({ outcome: 'abandoned', delivery: byRabbit(topology) });
    expect((await taskOf(tenant, command_id)).state).toMatchObject({ status: 'retry_scheduled', attempt: 2 });
  });

  it('a task still due is left to the dispatcher: its dead letter is acked, the log unchanged', async () => {
    const tenant = newTenant();
    const { command_id } = await command(tenant);
    const { topology, publisher } = await queues();
    await refusingWorker(topology.tasks);
    const handled = await triage(topology, deps());
    const before = await taskOf(tenant, command_id);

    await publisher.publishTask(before);
    await waitUntil(() => handled.length === 1, { what: 'the dead letter to be handled' });
    expect(handled[0]).toMatchObject({ outcome: 'due', delivery: byRabbit(topology) });
    expect(await taskOf(tenant, command_id)).toEqual(before);
    await waitUntil(async () => (await publisher.depth('dlq')) === 0 && (await publisher.depth('tasks')) === 0, {
      what: 'both queues to be empty',
    });
  });

  it("a finished task's dead letter is acked and forgotten", async () => {
    const tenant = newTenant();
    const { command_id, task_id } = await command(tenant, `worker-${randomUUID()}`);
    await handleCommand(
      store,
      commandLifeDecider,
      { tenant, stream: commandStream(command_id) },
      {
        type: 'CompleteTask',
        data: { task_id, attempt: 1, result: {}, duration_ms: 1 },
        metadata: { now: new Date(), correlation_id: `c-${command_id}`, actor: 'w' },
      },
      { newEventId: () => randomUUID() },
    );
    const { topology, publisher } = await queues();
    await refusingWorker(topology.tasks);
    const handled = await triage(topology, deps());
    const before = await taskOf(tenant, command_id);

    await publisher.publishTask(before);
    await waitUntil(() => handled.length === 1, { what: 'the dead letter to be handled' });
    expect(handled[0]!.outcome).toBe('finished');
    expect(await taskOf(tenant, command_id)).toEqual(before);
  });
});

describe('queues declared by an older NEXUS, without a delivery limit', () => {
  /** A queue as NEXUS declared it before delivery limits. */
  async function declaredTheOldWay(queue: string): Promise<void> {
    const channel = await amqp.createChannel();
    await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await channel.close();
  }

  /** A logger whose lines the test reads. */
  function capturing(): { logger: Logger; lines: Array<Record<string, unknown>> } {
    const lines: Array<Record<string, unknown>> = [];
    return {
      lines,
      logger: createLogger({
        level: 'info',
        destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
      }),
    };
  }

  it('publisher and worker start on them, take tasks, and warn how to get the limit', async () => {
    const names = freshQueues();
    cleanup.push(names.drop);
    const topology = { tasks: names.TASK_QUEUE, dlq: names.DLQ_QUEUE, deliveryLimit: 20 };
    await declaredTheOldWay(topology.tasks);
    await declaredTheOldWay(topology.dlq);
    const supervisorLog = capturing();
    const workerLog = capturing();

    const publisher = new QueuePublisher(SERVICES.rabbitmq, topology, supervisorLog.logger);
    cleanup.push(() => publisher.close());
    await publisher.start(10_000);
    const taken: TaskMessage[] = [];
    const consumer = new QueueConsumer({
      url: SERVICES.rabbitmq,
      queues: topology,
      queue: 'tasks',
      prefetch: 4,
      name: 'test-worker',
      logger: workerLog.logger,
      handle: async (message) => void taken.push(message),
    });
    cleanup.push(() => consumer.stop(2000));
    await consumer.start(10_000);

    const tenant = newTenant();
    const { command_id } = await command(tenant);
    await publisher.publishTask(await taskOf(tenant, command_id));
    await waitUntil(() => taken.length === 1, { what: 'the worker to take the task' });
    expect(taken[0]).toMatchObject({ command_id, attempt: 1 });
    await waitUntil(async () => (await publisher.depth('tasks')) === 0, { what: 'the task to be acked' });
    expect(publisher.connected).toBe(true);

    for (const { lines } of [supervisorLog, workerLog]) {
      const warnings = lines.filter((line) => line.level === 'warn' && line.queue === topology.tasks);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.msg).toContain('without a delivery limit of 20');
      expect(warnings[0]!.remedy).toContain(`rabbitmqctl delete_queue ${topology.tasks}`);
      expect(warnings[0]!.remedy).toContain('rabbitmqctl set_policy');
    }
    // the DLQ's arguments did not change: no warning about it
    expect(supervisorLog.lines.filter((line) => line.queue === topology.dlq)).toEqual([]);
  });

  it('a task queue deleted under a running worker is declared again, with the limit', async () => {
    const names = freshQueues();
    cleanup.push(names.drop);
    const topology = { tasks: names.TASK_QUEUE, dlq: names.DLQ_QUEUE, deliveryLimit: 20 };
    await declaredTheOldWay(topology.tasks);
    const consumer = new QueueConsumer({
      url: SERVICES.rabbitmq,
      queues: topology,
      queue: 'tasks',
      prefetch: 4,
      name: 'test-worker',
      logger: silent,
      handle: async () => {},
    });
    cleanup.push(() => consumer.stop(2000));
    await consumer.start(10_000);

    const channel = await amqp.createChannel();
    await channel.deleteQueue(topology.tasks);
    await channel.close();
    // declared again by the worker, with the arguments of today: an equal declaration passes
    await waitUntil(
      async () => {
        const probe = await amqp.createChannel();
        probe.on('error', () => undefined);
        // checked first (passively): the probe must not declare the queue itself
        const consumed = await probe.checkQueue(topology.tasks).then(
          (ok) => ok.consumerCount === 1,
          () => false,
        );
        const declared =
          consumed &&
          (await probe.assertQueue(topology.tasks, queueOptions(topology, 'tasks')).then(
            () => true,
            () => false,
          ));
        await probe.close().catch(() => undefined);
        return declared;
      },
      { what: 'the worker to declare the queue again and consume it' },
    );
  });
});
