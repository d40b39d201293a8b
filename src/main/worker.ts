import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { BuiltInDeps } from '../catalog/built-in.js';
import type { Catalog } from '../catalog/catalog.js';
import type { Config } from '../config/load-config.js';
import { HEARTBEAT_FILE } from '../distributed/heartbeat-file.js';
import { QueueConsumer } from '../distributed/rabbitmq/queue-consumer.js';
import { queueTopology } from '../distributed/rabbitmq/queue-topology.js';
import { TaskLeases } from '../distributed/redis/task-leases.js';
import { recordWorker, WorkerPresence } from '../distributed/redis/worker-presence.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { TaskMessageHandler } from '../worker/handle-task-message.js';
import { holdingOf, memoryFromLog } from '../worker/tenant-memory.js';
import { openCore } from './core.js';

export interface RunningWorker {
  readonly workerId: string;
  /** Graceful: stop taking tasks, let running ones finish (up to the timeout), leave. */
  stop(): Promise<void>;
}

/** A worker's appends wait out an outage of the log this long: it must record the outcome of what it ran. */
const LOG_PATIENCE_MS = 30_000;

/**
 * A worker process: takes tasks from `TASK_QUEUE`, runs them under a Redis lease, and records
 * every step in the shared log, which decides.
 *
 * @example
 *   const worker = await startWorker(loadConfig(process.env));
 *   process.once('SIGTERM', () => worker.stop());
 */
export async function startWorker(
  config: Config,
  options: { logger?: Logger; catalog?: (deps: BuiltInDeps) => Catalog } = {},
): Promise<RunningWorker> {
  if (!config.RABBITMQ_URL || !config.REDIS_URL) {
    throw new Error('RABBITMQ_URL is not set: workers take their tasks from RabbitMQ (with their leases in REDIS_URL)');
  }
  const workerId = `worker-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const logger = (options.logger ?? createLogger({ level: config.LOG_LEVEL })).child({ worker_id: workerId });
  const core = await openCore(config, {
    processId: workerId,
    logger,
    ...(options.catalog ? { catalog: options.catalog } : {}),
    listenUrl: () => `http://127.0.0.1:${config.PORT}`,
    patienceMs: LOG_PATIENCE_MS,
  });
  const { store, catalog, now, closing } = core;
  const redis = core.redis!;
  return closing.unwindOnFailure(async () => {
    const heartbeatMs = config.WORKER_HEARTBEAT_SECONDS * 1000;
    const leaseTtlMs = config.TASK_LOCK_TTL_SECONDS * 1000;
    const capabilities = catalog.list().map((c) => c.type);
    const presence = new WorkerPresence(
      redis,
      { worker_id: workerId, capabilities, started_at: now().toISOString(), pid: process.pid, host: hostname() },
      heartbeatMs,
      logger,
      HEARTBEAT_FILE,
    );
    closing.defer('presence', () => presence.stop());
    await presence.start();
    const stamp = () => ({ now: now(), newEventId: () => core.newId() });
    await recordWorker(
      store,
      { type: 'WorkerJoined', data: { worker_id: workerId, capabilities, host: hostname(), pid: process.pid } },
      'no_stream',
      stamp(),
    );
    closing.defer('departure', () =>
      recordWorker(store, { type: 'WorkerLeft', data: { worker_id: workerId, reason: 'shutdown' } }, 0, stamp()).catch(
        (error: unknown) => logger.warn({ err: error }, 'departure not recorded'),
      ),
    );
    const shutdown = new AbortController();
    const tasks = new TaskMessageHandler({
      ...core.runner(workerId, {
        readMemory: (tenant) => memoryFromLog(store, tenant),
        holding: async (tenant) => holdingOf(await memoryFromLog(store, tenant)),
      }),
      redis,
      leases: new TaskLeases(redis, workerId, leaseTtlMs),
      leaseTtlMs,
      heartbeatMs,
      shutdown: shutdown.signal,
    });
    const consumer = new QueueConsumer({
      url: config.RABBITMQ_URL!,
      queues: queueTopology(config),
      queue: 'tasks',
      prefetch: config.RABBITMQ_PREFETCH,
      name: workerId,
      logger,
      handle: async (message) => void (await tasks.handle(message)),
    });
    closing.defer('task consumer', async () => {
      const graceMs = config.SHUTDOWN_TIMEOUT_SECONDS * 1000;
      // Running tasks get the grace period, then their abort; unacked messages go back to the queue.
      const aborting = setTimeout(() => shutdown.abort(), graceMs).unref();
      await consumer.stop(graceMs + 2000);
      clearTimeout(aborting);
    });
    await consumer.start(30_000);
    logger.info(
      { store: core.opened.kind, queue: config.TASK_QUEUE, capabilities: capabilities.length },
      'worker is taking tasks',
    );
    const stop = async () => {
      logger.info('worker shutting down');
      await closing.close();
      logger.info('worker stopped');
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
    };
    return { workerId, stop };
  });
}
