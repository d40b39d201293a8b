import { serve } from '@hono/node-server';
import { setMaxListeners } from 'node:events';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Server } from 'node:http';
import { builtInCatalog, type BuiltInDeps } from '../catalog/built-in.js';
import { executorSettings, outboxLimits } from '../catalog/executors.js';
import { llmMeterFrom, llmRouterFrom } from '../llm/from-config.js';
import type { Catalog } from '../catalog/catalog.js';
import { riskPolicy, type RiskPolicy } from '../catalog/risk-policy.js';
import { tenantCaps, type Config } from '../config/load-config.js';
import { Dispatcher } from '../dispatch/dispatcher.js';
import { FeedHub } from '../fanout/feed-hub.js';
import { createApp } from '../http/app.js';
import { reportFrame } from '../http/sse/sse-frames.js';
import { newId } from '../shared/ids.js';
import { ShareStore } from '../shares/share-store.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { snapshotProjection } from '../projections/snapshot.js';
import { tenantFromKey, type Tenant } from '../events/tenant.js';
import { tenantMemory } from '../worker/tenant-memory.js';
import { announcePositions, followPositions } from '../distributed/redis/position-fanout.js';
import { createMetrics } from '../observability/metrics.js';
import { observedStore } from '../store/observed-store.js';
import { QueueConsumer } from '../distributed/rabbitmq/queue-consumer.js';
import { QueuePublisher } from '../distributed/rabbitmq/queue-publisher.js';
import { connectRedis, redisReady } from '../distributed/redis/connection.js';
import { redisBuckets } from '../distributed/redis/rate-limit.js';
import { Leadership } from '../distributed/redis/leadership.js';
import { WorkerWatch } from '../distributed/redis/worker-watch.js';
import { redisKeys } from '../distributed/redis/keys.js';
import { DailyIngest } from '../rag/daily-ingest.js';
import { openEventStore, storeKind } from '../store/open-event-store.js';
import { queueTopology } from '../distributed/rabbitmq/queue-topology.js';
import { recoverDeadLetter } from '../distributed/dlq-recovery.js';
import { runnerSettings } from '../worker/runner-settings.js';
import { dataDirSessionSecret } from '../http/auth/session-secret.js';

export interface RunningNexus {
  readonly url: string;
  readonly port: number;
  /** Graceful: stop accepting, end streams, let tasks finish (up to the timeout), flush, close. */
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly logger?: Logger;
  readonly now?: () => Date;
  /** The command types to serve; the built-in ones by default. */
  readonly catalog?: (deps: BuiltInDeps) => Catalog;
}

/**
 * Wires one embedded NEXUS: the SQLite log, the fan-out, the in-process workers and the HTTP
 * API, and starts serving.
 *
 * @example
 *   const nexus = await startNexus(loadConfig(process.env));
 *   process.once('SIGTERM', () => nexus.stop());
 */
export async function startNexus(config: Config, options: StartOptions = {}): Promise<RunningNexus> {
  const logger = options.logger ?? createLogger({ level: config.LOG_LEVEL });
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  if (config.RABBITMQ_URL && storeKind(config) === 'sqlite') {
    throw new Error('RABBITMQ_URL needs DATABASE_URL or EVENTSTORE_URL: worker processes must share the log');
  }
  if (config.RABBITMQ_URL && !config.REDIS_URL) {
    throw new Error('RABBITMQ_URL needs REDIS_URL: workers hold their task leases in Redis');
  }
  const opened = await openEventStore(config);
  const redis = config.REDIS_URL ? connectRedis(config.REDIS_URL, logger, 'nexus-supervisor') : undefined;
  const redisSubscriber = redis?.duplicate();
  if (redis) {
    await Promise.all([redisReady(redis), redisReady(redisSubscriber!)]);
    if (opened.poke) await followPositions(redisSubscriber!, opened.poke, logger);
  }
  // The gauges read parts made below; they are only read once NEXUS serves.
  const parts: { dispatcher?: Dispatcher; hub?: FeedHub<unknown>; publisher?: QueuePublisher; workers?: WorkerWatch } = {};
  const metrics = createMetrics({
    queueDepth: () => (parts.publisher ? parts.publisher.depth('tasks') : (parts.dispatcher?.pending ?? 0)),
    tasksInFlight: () => parts.dispatcher?.inFlight ?? 0,
    sseClients: () => parts.hub?.subscriberCount ?? 0,
    ...(config.RABBITMQ_URL ? { dlqDepth: () => parts.publisher?.depth('dlq') ?? Promise.resolve(Number.NaN) } : {}),
  });
  const store = observedStore(opened.store, [metrics.appendObserver, ...(redis ? [announcePositions(redis)] : [])]);
  const secret = config.SESSION_SECRET ?? dataDirSessionSecret(config.dataDir);
  const shares = new ShareStore(config.NEXUS_OUTBOX_DIR, { secret, limits: outboxLimits(config) });
  const llm = llmRouterFrom(config, { logger, record: { store, now, newEventId: () => newId() }, ...(redis ? { redis, processId: `supervisor-${process.pid}` } : {}) });
  const address = { url: '' };
  const publicUrl = () => config.NEXUS_PUBLIC_URL?.replace(/\/$/, '') ?? address.url;
  const catalog = (options.catalog ?? builtInCatalog)({
    store,
    workspaceDir: config.NEXUS_WORKSPACE_DIR,
    outboxDir: config.NEXUS_OUTBOX_DIR,
    shares,
    publicUrl,
    now,
    ...executorSettings(config),
  });
  metrics.knowCommandTypes(catalog.list().map((definition) => definition.type));
  let riskOf: RiskPolicy;
  try {
    riskOf = riskPolicy(catalog, config.RISK_OVERRIDES, config.RISK_ALLOW_LOWERING);
  } catch (error) {
    await store.close();
    throw error;
  }
  const projection = snapshotProjection({ worklogKeep: config.STREAM_WORKLOG_KEEP, deadLettersKeep: config.DEAD_LETTERS_KEEP });
  const hub = await FeedHub.start({
    store,
    projection,
    render: reportFrame,
    keep: config.STREAM_EVENT_KEEP,
    checkpointEvery: config.SNAPSHOT_CHECKPOINT_EVERY,
    onError: (error) => logger.error({ err: error }, 'fan-out lost its subscription; resubscribing'),
    onBatch: (batch) => {
      metrics.observe(batch);
      parts.workers?.observe(batch);
    },
  });
  parts.hub = hub as FeedHub<unknown>;
  const memory = (scope: { tenant: Tenant; correlation_id: string; actor: string }) =>
    tenantMemory(
      {
        store,
        now,
        newEventId: () => newId(),
        readMemory: async (tenant) => (await hub.stateAt(tenant)).state.memory,
        // The dispatcher follows the log, and exists once tasks run.
        holding: async (tenant) => parts.dispatcher!.usage.of(tenant),
        caps: tenantCaps(config),
      },
      scope,
    );
  const publisher = config.RABBITMQ_URL ? new QueuePublisher(config.RABBITMQ_URL, queueTopology(config), logger) : undefined;
  await publisher?.start(30_000);
  parts.publisher = publisher;
  const runnerDeps = {
    store,
    catalog,
    memory,
    executorId: `embedded-${hostname()}-${process.pid}`,
    ...runnerSettings(config),
    ...(llm ? { llm: { router: llm, meter: llmMeterFrom(config, store, now, () => newId()) } } : {}),
    logger,
    now,
    newEventId: () => newId(),
    random: Math.random,
  };
  // Distributed, up to this many publishes await their broker confirm at once.
  // Several replicas may share a distributed log; one of them (holding a Redis key) dispatches.
  const leadership =
    publisher && redis
      ? new Leadership(redis, redisKeys.dispatchLeader(config.TASK_QUEUE), `supervisor-${hostname()}-${process.pid}-${newId()}`, 10_000, logger, () => parts.dispatcher?.wake())
      : undefined;
  await leadership?.start();
  const dispatcher = await Dispatcher.start({
    ...runnerDeps,
    concurrency: publisher ? 512 : config.WORKER_CONCURRENCY,
    publisher,
    ...(leadership ? { leads: () => leadership.isLeader } : {}),
  });
  parts.dispatcher = dispatcher;
  const workers =
    publisher && redis
      ? new WorkerWatch({ store, redis, beatMs: config.WORKER_HEARTBEAT_SECONDS * 1000, logger, now, newEventId: () => newId(), leads: () => leadership?.isLeader ?? true })
      : undefined;
  parts.workers = workers;
  await workers?.start();
  // Every view of a snapshot shows the worker processes as the supervisor knows them now.
  // (Snapshots of the past show the tenant's executors as the log had them, without today's.)
  const liveProjection = workers
    ? { ...projection, view: (...[state, at]: Parameters<typeof projection.view>) => projection.view(state, at, at.current === true || at.position >= hub.position ? workers.live() : undefined) }
    : projection;
  // Distributed, dead letters come back from DLQ_QUEUE: triaged, or their task recovered from the log.
  const triage =
    config.RABBITMQ_URL && redis
      ? new QueueConsumer({
          url: config.RABBITMQ_URL,
          queues: queueTopology(config),
          queue: 'dlq',
          prefetch: 16,
          name: 'nexus-supervisor-triage',
          logger,
          handle: async (message, delivery) =>
            void (await recoverDeadLetter({ ...runnerDeps, redis, heartbeatMs: config.WORKER_HEARTBEAT_SECONDS * 1000 }, message, delivery)),
        })
      : undefined;
  await triage?.start(30_000);
  const shutdown = new AbortController();
  // Every open SSE stream listens for the shutdown: thousands of listeners are expected.
  setMaxListeners(0, shutdown.signal);
  const app = createApp({
    config,
    store,
    catalog,
    riskOf,
    shares,
    hub,
    projection: liveProjection,
    logger,
    now,
    newId,
    shutdown: shutdown.signal,
    startedAt,
    mode: publisher ? 'distributed' : 'embedded',
    sessionSecret: secret,
    metrics: metrics.registry,
    ...(redis ? { rateBuckets: redisBuckets(redis) } : {}),
    dependencies: () => ({
      ...(publisher ? { rabbitmq: publisher.connected ? 'ok' : 'down' } : {}),
      ...(redis ? { redis: redis.status === 'ready' ? 'ok' : 'down' } : {}),
    }),
    usage: (tenant) => dispatcher.usage.of(tenant),
    publicUrl,
    gauges: () => ({
      dispatcher: { pending: dispatcher.pending, in_flight: dispatcher.inFlight },
      sse: { clients: hub.subscriberCount },
    }),
  });
  const dailyIngest = config.RAG_AUTO_INGEST_ENABLED
    ? new DailyIngest({
        store,
        tenant: tenantFromKey(config.RAG_AUTO_INGEST_TENANT),
        hour: config.RAG_AUTO_INGEST_HOUR,
        minute: config.RAG_AUTO_INGEST_MINUTE,
        logger,
        now,
        newId,
        askTtlSeconds: config.ASK_TTL_SECONDS,
      })
    : undefined;
  dailyIngest?.start();
  const server = await listen(app.fetch, config);
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`;
  address.url = url;
  logger.info({ url, store: opened.kind, distributed: publisher !== undefined, development_mode: config.developmentMode }, 'NEXUS is serving');
  if (config.developmentMode) {
    logger.warn('development mode: NEXUS_API_KEY is not set, so API keys are not checked; listening on loopback only');
  }

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('shutting down');
      shutdown.abort();
      dailyIngest?.stop();
      await closeServer(server, 5000);
      // Another replica dispatches from now on, while this one lets its work finish.
      await leadership?.stop();
      await dispatcher.stop(config.SHUTDOWN_TIMEOUT_SECONDS * 1000);
      workers?.stop();
      await triage?.stop(config.SHUTDOWN_TIMEOUT_SECONDS * 1000);
      await publisher?.close();
      await hub.close();
      await store.close();
      redisSubscriber?.disconnect();
      redis?.disconnect();
      logger.info('stopped');
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
    })());
  return { url, port, stop };
}

function listen(fetch: Parameters<typeof serve>[0]['fetch'], config: Config): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, port: config.PORT, hostname: config.HOST }) as Server;
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}

/** Stops accepting, closes idle keep-alive connections, and cuts the rest after `graceMs`. */
function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs).unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
