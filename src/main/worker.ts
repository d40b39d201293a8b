import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { builtInCatalog, type BuiltInDeps } from '../catalog/built-in.js';
import { executorSettings, outboxLimits } from '../catalog/executors.js';
import { dataDirSessionSecret } from '../http/auth/session-secret.js';
import { llmMeterFrom, llmRouterFrom } from '../llm/from-config.js';
import type { Catalog } from '../catalog/catalog.js';
import { tenantCaps, type Config } from '../config/load-config.js';
import { HEARTBEAT_FILE } from '../distributed/heartbeat-file.js';
import { announcePositions } from '../distributed/redis/position-fanout.js';
import { observedStore } from '../store/observed-store.js';
import { patientStore } from '../worker/patient-store.js';
import { QueueConsumer } from '../distributed/rabbitmq/queue-consumer.js';
import { queueTopology } from '../distributed/rabbitmq/queue-topology.js';
import { connectRedis, redisReady } from '../distributed/redis/connection.js';
import { TaskLeases } from '../distributed/redis/task-leases.js';
import { recordWorker, WorkerPresence } from '../distributed/redis/worker-presence.js';
import { newId } from '../shared/ids.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { ShareStore } from '../shares/share-store.js';
import { openEventStore, storeKind } from '../store/open-event-store.js';
import { TaskMessageHandler } from '../worker/handle-task-message.js';
import { runnerSettings } from '../worker/runner-settings.js';
import { holdingOf, memoryFromLog, tenantMemory } from '../worker/tenant-memory.js';

export interface RunningWorker {
  readonly workerId: string;
  /** Graceful: stop taking tasks, let running ones finish (up to the timeout), leave. */
  stop(): Promise<void>;
}

/** The configuration a worker process needs, or what is missing from it. */
export function workerConfigProblems(config: Config): string[] {
  const problems: string[] = [];
  if (!config.RABBITMQ_URL) problems.push('RABBITMQ_URL is not set: workers take their tasks from RabbitMQ');
  if (!config.REDIS_URL) problems.push('REDIS_URL is not set: workers hold their task leases in Redis');
  if (storeKind(config) === 'sqlite') problems.push('neither DATABASE_URL nor EVENTSTORE_URL is set: workers share the supervisor\'s log on a server');
  return problems;
}

/**
 * A worker process: takes tasks from `TASK_QUEUE`, runs them under a Redis lease, and records
 * every step in the shared log, which decides.
 *
 * @example
 *   const worker = await startWorker(loadConfig(process.env));
 *   process.once('SIGTERM', () => worker.stop());
 */
export async function startWorker(config: Config, options: { logger?: Logger; catalog?: (deps: BuiltInDeps) => Catalog } = {}): Promise<RunningWorker> {
  const problems = workerConfigProblems(config);
  if (problems.length > 0) throw new Error(problems.join('; '));
  const workerId = `worker-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const logger = (options.logger ?? createLogger({ level: config.LOG_LEVEL })).child({ worker_id: workerId });
  const now = () => new Date();
  const redis = connectRedis(config.REDIS_URL!, logger, `${workerId}`);
  await redisReady(redis);
  const opened = await openEventStore(config);
  const store = patientStore(observedStore(opened.store, [announcePositions(redis)]), 30_000);
  const llm = llmRouterFrom(config, { logger, record: { store, now, newEventId: () => newId() }, redis, processId: workerId });
  const catalog = (options.catalog ?? builtInCatalog)({
    store,
    workspaceDir: config.NEXUS_WORKSPACE_DIR,
    outboxDir: config.NEXUS_OUTBOX_DIR,
    shares: new ShareStore(config.NEXUS_OUTBOX_DIR, { secret: config.SESSION_SECRET ?? dataDirSessionSecret(config.dataDir), limits: outboxLimits(config) }),
    publicUrl: () => (config.NEXUS_PUBLIC_URL ?? `http://127.0.0.1:${config.PORT}`).replace(/\/$/, ''),
    now,
    ...executorSettings(config),
  });
  const shutdown = new AbortController();
  const heartbeatMs = config.WORKER_HEARTBEAT_SECONDS * 1000;
  const leaseTtlMs = config.TASK_LOCK_TTL_SECONDS * 1000;
  const deps = {
    store,
    catalog,
    memory: (scope: Parameters<typeof tenantMemory>[1]) =>
      tenantMemory(
        {
          store,
          now,
          newEventId: () => newId(),
          readMemory: (tenant) => memoryFromLog(store, tenant),
          holding: async (tenant) => holdingOf(await memoryFromLog(store, tenant)),
          caps: tenantCaps(config),
        },
        scope,
      ),
    executorId: workerId,
    ...runnerSettings(config),
    ...(llm ? { llm: { router: llm, meter: llmMeterFrom(config, store, now, () => newId()) } } : {}),
    logger,
    now,
    newEventId: () => newId(),
    random: Math.random,
    redis,
    leases: new TaskLeases(redis, workerId, leaseTtlMs),
    leaseTtlMs,
    heartbeatMs,
    shutdown: shutdown.signal,
  };
  const presence = new WorkerPresence(
    redis,
    { worker_id: workerId, capabilities: catalog.list().map((c) => c.type), started_at: now().toISOString(), pid: process.pid, host: hostname() },
    heartbeatMs,
    logger,
    HEARTBEAT_FILE,
  );
  await presence.start();
  await recordWorker(store, { type: 'WorkerJoined', data: { worker_id: workerId, capabilities: catalog.list().map((c) => c.type), host: hostname(), pid: process.pid } }, 'no_stream', { now: now(), newEventId: () => newId() });
  const tasks = new TaskMessageHandler(deps);
  const consumer = new QueueConsumer({
    url: config.RABBITMQ_URL!,
    queues: queueTopology(config),
    queue: 'tasks',
    prefetch: config.RABBITMQ_PREFETCH,
    name: workerId,
    logger,
    handle: async (message) => void (await tasks.handle(message)),
  });
  await consumer.start(30_000);
  logger.info({ store: opened.kind, queue: config.TASK_QUEUE, capabilities: catalog.list().length }, 'worker is taking tasks');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('worker shutting down');
      const graceMs = config.SHUTDOWN_TIMEOUT_SECONDS * 1000;
      // Running tasks get the grace period, then their abort; unacked messages go back to the queue.
      const aborting = setTimeout(() => shutdown.abort(), graceMs).unref();
      await consumer.stop(graceMs + 2000);
      clearTimeout(aborting);
      await recordWorker(store, { type: 'WorkerLeft', data: { worker_id: workerId, reason: 'shutdown' } }, 0, { now: now(), newEventId: () => newId() }).catch((error: unknown) =>
        logger.warn({ err: error }, 'departure not recorded'),
      );
      await presence.stop();
      await opened.store.close();
      redis.disconnect();
      logger.info('worker stopped');
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
    })());
  return { workerId, stop };
}
