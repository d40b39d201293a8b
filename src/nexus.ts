import { serve } from '@hono/node-server';
import { setMaxListeners } from 'node:events';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { builtInCatalog, type BuiltInDeps } from './catalog/built-in.js';
import type { Catalog } from './catalog/catalog.js';
import { riskPolicy, type RiskPolicy } from './catalog/risk-policy.js';
import type { Config } from './config.js';
import { EmbeddedDispatcher } from './dispatch/embedded-dispatcher.js';
import { upcast } from './events/registry.js';
import { FeedHub } from './fanout/feed-hub.js';
import { createApp } from './http/app.js';
import { reportFrame } from './http/sse-frames.js';
import { newId } from './ids.js';
import { ShareStore } from './shares/share-store.js';
import { createLogger, type Logger } from './logger.js';
import { snapshotProjection } from './projections/snapshot.js';
import type { Tenant } from './events/tenant.js';
import { tenantMemory } from './worker/tenant-memory.js';
import { openSqliteEventStore } from './store/sqlite-event-store.js';

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
  const store = await openSqliteEventStore({ path: join(config.dataDir, 'nexus.db'), upcast });
  const shares = new ShareStore(config.NEXUS_OUTBOX_DIR);
  const address = { url: '' };
  const catalog = (options.catalog ?? builtInCatalog)({
    store,
    workspaceDir: config.NEXUS_WORKSPACE_DIR,
    outboxDir: config.NEXUS_OUTBOX_DIR,
    shares,
    publicUrl: () => config.NEXUS_PUBLIC_URL?.replace(/\/$/, '') ?? address.url,
    now,
  });
  let riskOf: RiskPolicy;
  try {
    riskOf = riskPolicy(catalog, config.RISK_OVERRIDES, config.RISK_ALLOW_LOWERING);
  } catch (error) {
    await store.close();
    throw error;
  }
  const projection = snapshotProjection({ worklogKeep: config.STREAM_WORKLOG_KEEP });
  const hub = await FeedHub.start({
    store,
    projection,
    render: reportFrame,
    keep: config.STREAM_EVENT_KEEP,
    checkpointEvery: config.SNAPSHOT_CHECKPOINT_EVERY,
    onError: (error) => logger.error({ err: error }, 'fan-out lost its subscription; resubscribing'),
  });
  const memory = (scope: { tenant: Tenant; correlation_id: string; actor: string }) =>
    tenantMemory({ store, now, newEventId: () => newId(), readMemory: async (tenant) => (await hub.stateAt(tenant)).state.memory }, scope);
  const dispatcher = await EmbeddedDispatcher.start({
    store,
    catalog,
    memory,
    executorId: `embedded-${hostname()}-${process.pid}`,
    retryPolicy: { max_retries: config.MAX_RETRIES, base_delay_ms: config.RETRY_BASE_DELAY_MS, max_delay_ms: config.RETRY_MAX_DELAY_MS },
    taskTimeoutMs: config.TASK_TIMEOUT_SECONDS * 1000,
    logger,
    now,
    newEventId: () => newId(),
    random: Math.random,
    concurrency: config.WORKER_CONCURRENCY,
  });
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
    projection,
    logger,
    now,
    newId,
    shutdown: shutdown.signal,
    startedAt,
    gauges: () => ({
      dispatcher: { pending: dispatcher.pending, in_flight: dispatcher.inFlight },
      sse: { clients: hub.subscriberCount },
    }),
  });
  const server = await listen(app.fetch, config);
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`;
  address.url = url;
  logger.info({ url, data_dir: config.dataDir, development_mode: config.developmentMode }, 'NEXUS is serving');
  if (config.developmentMode) {
    logger.warn('development mode: NEXUS_API_KEY is not set, so API keys are not checked; listening on loopback only');
  }

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('shutting down');
      shutdown.abort();
      await closeServer(server, 5000);
      await dispatcher.stop(config.SHUTDOWN_TIMEOUT_SECONDS * 1000);
      await hub.close();
      await store.close();
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
