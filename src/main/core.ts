import type { Redis } from 'ioredis';
import { builtInCatalog, type BuiltInDeps } from '../catalog/built-in.js';
import type { Catalog } from '../catalog/catalog.js';
import { executorSettings, outboxLimits } from '../catalog/executors.js';
import { riskPolicy, type RiskPolicy } from '../catalog/risk-policy.js';
import { tenantCaps, type Config } from '../config/load-config.js';
import { announcePositions } from '../distributed/redis/position-fanout.js';
import { connectRedis, redisReady } from '../distributed/redis/connection.js';
import { dataDirSessionSecret } from '../http/auth/session-secret.js';
import { llmMeterFrom, llmRouterFrom } from '../llm/from-config.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { newId } from '../shared/ids.js';
import { ShareStore } from '../shares/share-store.js';
import type { EventStore } from '../store/event-store.js';
import { observedStore, type AppendObserver } from '../store/observed-store.js';
import { openEventStore, type OpenedStore } from '../store/open-event-store.js';
import { patientStore } from '../worker/patient-store.js';
import type { TaskRunnerDeps } from '../worker/run-task.js';
import { runnerSettings } from '../worker/runner-settings.js';
import { tenantMemory, type TenantMemoryDeps } from '../worker/tenant-memory.js';
import { CloseStack } from './close-stack.js';

export interface CoreOptions {
  /** Names this process: in Redis (its connection, the shared LLM breakers). */
  readonly processId: string;
  readonly logger?: Logger;
  readonly now?: () => Date;
  /** The command types to serve; the built-in ones by default. */
  readonly catalog?: (deps: BuiltInDeps) => Catalog;
  /** Told of every append (metrics), besides the announcement of positions to other processes. */
  readonly appendObservers?: readonly AppendObserver[];
  /** How this process is reached when NEXUS_PUBLIC_URL is not set (share links). */
  readonly listenUrl: () => string;
  /** Appends wait out an outage of the log this long (a worker that ran a handler must record its outcome). */
  readonly patienceMs?: number;
  /** The event log; the configured one unless given (an in-memory log for API specs). */
  readonly store?: OpenedStore;
}

/** Where a task's handlers read the tenant's memory, and what the tenant holds. */
export type MemorySource = Pick<TenantMemoryDeps, 'readMemory' | 'holding'>;

/** What the supervisor and a worker process share: the log, the catalog, the LLMs, and how to stop them. */
export interface Core {
  readonly config: Config;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly newId: (prefix?: string) => string;
  readonly store: EventStore;
  readonly opened: OpenedStore;
  readonly redis?: Redis;
  /** Signs dashboard sessions and share links: SESSION_SECRET, or the one kept in the data folder. */
  readonly sessionSecret: string;
  readonly shares: ShareStore;
  readonly catalog: Catalog;
  readonly riskOf: RiskPolicy;
  /** NEXUS_PUBLIC_URL, or where this process listens. */
  readonly publicUrl: () => string;
  /** What running a task needs, given who runs it and where its handlers' memory comes from. */
  runner(executorId: string, memory: MemorySource): TaskRunnerDeps;
  /** Everything opened here and after, stopped in reverse order. */
  readonly closing: CloseStack;
}

/**
 * Opens what every NEXUS process needs, from its configuration: the event log (observed for
 * metrics and announced to other processes over Redis), Redis, the share store, the catalog with
 * its risk policy, and the LLMs. What opened is closed again if a later step fails.
 *
 * @example
 *   const core = await openCore(config, { processId: 'supervisor-1', listenUrl: () => url });
 *   core.closing.defer('server', () => server.close());
 *   await core.closing.close();
 */
export async function openCore(config: Config, options: CoreOptions): Promise<Core> {
  const logger = options.logger ?? createLogger({ level: config.LOG_LEVEL });
  const now = options.now ?? (() => new Date());
  const closing = new CloseStack(logger);
  return closing.unwindOnFailure(async () => {
    const opened = options.store ?? (await openEventStore(config));
    closing.defer('event store', () => opened.store.close());
    const redis = config.REDIS_URL ? connectRedis(config.REDIS_URL, logger, options.processId) : undefined;
    if (redis) {
      closing.defer('redis', () => redis.disconnect());
      await redisReady(redis);
    }
    const observed = observedStore(opened.store, [
      ...(options.appendObservers ?? []),
      ...(redis ? [announcePositions(redis)] : []),
    ]);
    const store = options.patienceMs === undefined ? observed : patientStore(observed, options.patienceMs);
    const sessionSecret = config.SESSION_SECRET ?? dataDirSessionSecret(config.dataDir);
    const shares = new ShareStore(config.NEXUS_OUTBOX_DIR, { secret: sessionSecret, limits: outboxLimits(config) });
    const publicUrl = () => config.NEXUS_PUBLIC_URL?.replace(/\/$/, '') ?? options.listenUrl();
    const catalog = (options.catalog ?? builtInCatalog)({
      store,
      workspaceDir: config.NEXUS_WORKSPACE_DIR,
      outboxDir: config.NEXUS_OUTBOX_DIR,
      shares,
      publicUrl,
      now,
      ...executorSettings(config),
    });
    const riskOf = riskPolicy(catalog, config.RISK_OVERRIDES, config.RISK_ALLOW_LOWERING);
    const newEventId = () => newId();
    const router = llmRouterFrom(config, {
      logger,
      record: { store, now, newEventId },
      ...(redis ? { redis, processId: options.processId } : {}),
    });
    const llm = router && { router, meter: llmMeterFrom(config, store, now, newEventId) };
    const runner = (executorId: string, memory: MemorySource): TaskRunnerDeps => ({
      store,
      catalog,
      memory: (scope) => tenantMemory({ store, now, newEventId, caps: tenantCaps(config), ...memory }, scope),
      executorId,
      ...runnerSettings(config),
      ...(llm ? { llm } : {}),
      logger,
      now,
      newEventId,
      random: Math.random,
    });
    return {
      config,
      logger,
      now,
      newId,
      store,
      opened,
      ...(redis ? { redis } : {}),
      sessionSecret,
      shares,
      catalog,
      riskOf,
      publicUrl,
      runner,
      closing,
    };
  });
}
