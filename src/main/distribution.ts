import { hostname } from 'node:os';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import { recoverDeadLetter } from '../distributed/dlq-recovery.js';
import { QueueConsumer } from '../distributed/rabbitmq/queue-consumer.js';
import { QueuePublisher } from '../distributed/rabbitmq/queue-publisher.js';
import { queueTopology } from '../distributed/rabbitmq/queue-topology.js';
import { redisReady } from '../distributed/redis/connection.js';
import { redisKeys } from '../distributed/redis/keys.js';
import { Leadership } from '../distributed/redis/leadership.js';
import { followPositions } from '../distributed/redis/position-fanout.js';
import { WorkerWatch } from '../distributed/redis/worker-watch.js';
import type { TaskRunnerDeps } from '../worker/run-task.js';
import type { Core } from './core.js';

/** The supervisor's part in distributed mode (RABBITMQ_URL, which needs REDIS_URL and a shared log). */
export interface Distribution {
  readonly publisher: QueuePublisher;
  /** Several replicas may share the log; the one holding a Redis key dispatches. */
  readonly leadership: Leadership;
  /** The worker processes, as their heartbeats tell. */
  readonly workers: WorkerWatch;
  /** Once the dispatcher runs: it is woken when this replica comes to lead, workers are watched, dead letters come back. */
  follow(dispatcher: Dispatcher, runner: TaskRunnerDeps): Promise<void>;
}

/**
 * Connects the supervisor to RabbitMQ and to the other replicas; undefined when NEXUS runs
 * embedded. What it starts is stopped by `core.closing`.
 */
export async function startDistribution(core: Core): Promise<Distribution | undefined> {
  const { config, logger, closing, redis } = core;
  await followOtherReplicas(core);
  if (!config.RABBITMQ_URL || !redis) return undefined;
  const publisher = new QueuePublisher(config.RABBITMQ_URL, queueTopology(config), logger);
  closing.defer('task publisher', () => publisher.close());
  await publisher.start(30_000);
  const leadership = new Leadership(
    redis,
    redisKeys.dispatchLeader(config.TASK_QUEUE),
    `supervisor-${hostname()}-${process.pid}-${core.newId()}`,
    10_000,
    logger,
  );
  closing.defer('dispatch leadership', () => leadership.stop());
  await leadership.start();
  const heartbeatMs = config.WORKER_HEARTBEAT_SECONDS * 1000;
  const workers = new WorkerWatch({
    store: core.store,
    redis,
    beatMs: heartbeatMs,
    logger,
    now: core.now,
    newEventId: () => core.newId(),
    leads: () => leadership.isLeader,
  });
  const follow = async (dispatcher: Dispatcher, runner: TaskRunnerDeps) => {
    leadership.onGained(() => dispatcher.wake());
    closing.defer('worker watch', () => workers.stop());
    await workers.start();
    // Dead letters come back from DLQ_QUEUE: triaged, or their task recovered from the log.
    const triage = new QueueConsumer({
      url: config.RABBITMQ_URL!,
      queues: queueTopology(config),
      queue: 'dlq',
      prefetch: 16,
      name: 'nexus-supervisor-triage',
      logger,
      handle: async (message, delivery) =>
        void (await recoverDeadLetter({ ...runner, redis, heartbeatMs }, message, delivery)),
    });
    closing.defer('dead-letter triage', () => triage.stop(config.SHUTDOWN_TIMEOUT_SECONDS * 1000));
    await triage.start(30_000);
  };
  return { publisher, leadership, workers, follow };
}

/** Replicas sharing a log over Redis: each learns of the others' appends at once, rather than at its next poll. */
async function followOtherReplicas({ redis, opened, closing, logger }: Core): Promise<void> {
  if (!redis || !opened.poke) return;
  const subscriber = redis.duplicate();
  closing.defer('redis subscriber', () => subscriber.disconnect());
  await redisReady(subscriber);
  await followPositions(subscriber, opened.poke, logger);
}

/** RabbitMQ and Redis as `/health` reports them. */
export function dependencyStatus(
  core: Core,
  distribution: Distribution | undefined,
): () => Record<string, 'ok' | 'down'> {
  return () => ({
    ...(distribution ? { rabbitmq: distribution.publisher.connected ? 'ok' : 'down' } : {}),
    ...(core.redis ? { redis: core.redis.status === 'ready' ? 'ok' : 'down' } : {}),
  });
}
