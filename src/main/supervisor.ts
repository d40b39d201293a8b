import { serve } from '@hono/node-server';
import { setMaxListeners } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { BuiltInDeps } from '../catalog/built-in.js';
import type { Catalog } from '../catalog/catalog.js';
import type { Config } from '../config/load-config.js';
import { Dispatcher } from '../dispatch/dispatcher.js';
import { TenantUsage } from '../dispatch/tenant-usage.js';
import { redisBuckets } from '../distributed/redis/rate-limit.js';
import { tenantFromKey } from '../events/tenant.js';
import { FeedHub } from '../fanout/feed-hub.js';
import { createApp } from '../http/app.js';
import { reportFrame } from '../http/sse/sse-frames.js';
import type { Logger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { snapshotProjection } from '../projections/snapshot.js';
import { DailyIngest } from '../rag/daily-ingest.js';
import { openCore } from './core.js';
import { dependencyStatus, startDistribution } from './distribution.js';

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
 * The supervisor: the log with its fan-out, dispatch (run here, or published to worker processes
 * when RABBITMQ_URL is set), the HTTP API, and a graceful stop that undoes it all in reverse.
 *
 * @example
 *   const nexus = await startNexus(loadConfig(process.env));
 *   process.once('SIGTERM', () => nexus.stop());
 */
export async function startNexus(config: Config, options: StartOptions = {}): Promise<RunningNexus> {
  const metrics = createMetrics();
  const address = { url: '' };
  const core = await openCore(config, {
    processId: `supervisor-${hostname()}-${process.pid}`,
    ...options,
    appendObservers: [metrics.appendObserver],
    listenUrl: () => address.url,
  });
  const { logger, now, store, closing } = core;
  return closing.unwindOnFailure(async () => {
    const startedAt = now();
    metrics.knowCommandTypes(core.catalog.list().map((definition) => definition.type));
    const distribution = await startDistribution(core);
    const projection = snapshotProjection({
      worklogKeep: config.STREAM_WORKLOG_KEEP,
      deadLettersKeep: config.DEAD_LETTERS_KEEP,
    });
    const hub = await FeedHub.start({
      store,
      projection,
      render: reportFrame,
      keep: config.STREAM_EVENT_KEEP,
      checkpointEvery: config.SNAPSHOT_CHECKPOINT_EVERY,
      onError: (error) => logger.error({ err: error }, 'fan-out lost its subscription; resubscribing'),
      onBatch: (batch) => {
        metrics.observe(batch);
        distribution?.workers.observe(batch);
      },
    });
    closing.defer('fan-out', () => hub.close());
    const usage = new TenantUsage();
    const runner = core.runner(`embedded-${hostname()}-${process.pid}`, {
      readMemory: async (tenant) => (await hub.stateAt(tenant)).state.memory,
      holding: async (tenant) => usage.of(tenant),
    });
    const dispatcher = await Dispatcher.start({
      ...runner,
      usage,
      // Distributed, up to this many publishes await their broker confirm at once.
      concurrency: distribution ? 512 : config.WORKER_CONCURRENCY,
      ...(distribution ? { publisher: distribution.publisher, leads: () => distribution.leadership.isLeader } : {}),
    });
    closing.defer('dispatch', async () => {
      // Another replica dispatches from now on, while this one lets its work finish.
      await distribution?.leadership.stop();
      await dispatcher.stop(config.SHUTDOWN_TIMEOUT_SECONDS * 1000);
    });
    await distribution?.follow(dispatcher, runner);
    metrics.readGauges({
      queueDepth: () => distribution?.publisher.depth('tasks') ?? dispatcher.pending,
      tasksInFlight: () => dispatcher.inFlight,
      sseClients: () => hub.subscriberCount,
      ...(distribution ? { dlqDepth: () => distribution.publisher.depth('dlq') } : {}),
    });
    const shutdown = new AbortController();
    // Every open SSE stream listens for the shutdown: thousands of listeners are expected.
    setMaxListeners(0, shutdown.signal);
    const app = createApp({
      ...core,
      hub,
      projection,
      ...(distribution ? { liveExecutors: () => distribution.workers.live() } : {}),
      shutdown: shutdown.signal,
      startedAt,
      mode: distribution ? 'distributed' : 'embedded',
      metrics: metrics.registry,
      ...(core.redis ? { rateBuckets: redisBuckets(core.redis) } : {}),
      dependencies: dependencyStatus(core, distribution),
      usage: (tenant) => usage.of(tenant),
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
          newId: core.newId,
          askTtlSeconds: config.ASK_TTL_SECONDS,
        })
      : undefined;
    const server = await listen(app.fetch, config);
    closing.defer('HTTP server', () => closeServer(server, 5000));
    dailyIngest?.start();
    closing.defer('daily ingest', () => dailyIngest?.stop());
    closing.defer('open streams', () => shutdown.abort());
    const { port } = server.address() as AddressInfo;
    address.url = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`;
    logger.info(
      {
        url: address.url,
        store: core.opened.kind,
        distributed: distribution !== undefined,
        development_mode: config.developmentMode,
      },
      'NEXUS is serving',
    );
    if (config.developmentMode) {
      logger.warn(
        'development mode: NEXUS_API_KEY is not set, so API keys are not checked; listening on loopback only',
      );
    }
    const stop = async () => {
      logger.info('shutting down');
      await closing.close();
      logger.info('stopped');
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
    };
    return { url: address.url, port, stop };
  });
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
