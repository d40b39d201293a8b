import { Hono, type Context } from 'hono';
import type { Catalog } from '../catalog/catalog.js';
import type { RiskPolicy } from '../catalog/risk-policy.js';
import { tenantCaps, type Config } from '../config/load-config.js';
import type { Holding } from '../commands/tenant-caps.js';
import type { Tenant } from '../events/tenant.js';
import type { FeedHub } from '../fanout/feed-hub.js';
import type { Logger } from '../observability/logger.js';
import type { LiveExecutors, SnapshotProjection, SnapshotState } from '../projections/snapshot.js';
import type { EventStore } from '../store/event-store.js';
import type { AppEnv } from './app-env.js';
import { errorBody, errorHandler } from './errors.js';
import { accessLog } from './middleware/access-log.js';
import { correlation } from './middleware/correlation.js';
import { loopbackHostOnly } from './middleware/loopback-host.js';
import { ReadBudget } from './middleware/expensive-reads.js';
import { StreamSlots } from './sse/stream-slots.js';
import { header } from './header.js';
import { documentedMethods, openApiDocument } from './openapi.js';
import { agentDocs, agentRoutes } from './routes/agent.js';
import { approvalDocs, approvalRoutes } from './routes/approvals.js';
import { auditDocs, auditRoutes } from './routes/audit.js';
import { shareDocs, shareRoutes } from './routes/shares.js';
import { shareLinkDocs, shareLinkRoutes } from './routes/share-links.js';
import type { ShareStore } from '../shares/share-store.js';
import { reportStreamDocs, reportStreamRoutes } from './routes/report-stream.js';
import { commandDocs, commandRoutes } from './routes/commands.js';
import type { Registry } from 'prom-client';
import { healthDocs, healthRoutes } from './routes/health.js';
import { adminTaskDocs, adminTaskRoutes } from './routes/admin-tasks.js';
import { metricsDocs, metricsRoutes } from './routes/metrics.js';
import { finopsDocs, finopsRoutes } from './routes/finops.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { sessionDocs, sessionRoutes } from './routes/session.js';
import { beforeARoute } from './before-a-route.js';
import { createGuards, keyedApi, tenantApi, type Guards } from './guards.js';
import type { SharedBuckets } from './middleware/rate-limit.js';

export interface AppDeps {
  readonly config: Config;
  readonly store: EventStore;
  readonly catalog: Catalog;
  readonly riskOf: RiskPolicy;
  readonly shares: ShareStore;
  readonly hub: FeedHub<SnapshotState>;
  readonly projection: SnapshotProjection;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly newId: (prefix?: string) => string;
  /** Aborted when NEXUS starts shutting down: streams end, health turns 503. */
  readonly shutdown: AbortSignal;
  readonly gauges: () => Record<string, unknown>;
  /** What each tenant holds now (waiting asks, memory), for the door's caps. */
  readonly usage: (tenant: Tenant) => Holding;
  readonly startedAt: Date;
  readonly mode: 'embedded' | 'distributed';
  /** Rate-limit buckets shared by every replica (Redis). */
  readonly rateBuckets?: SharedBuckets;
  /** Served at `/metrics` (admin key). */
  readonly metrics?: Registry;
  /** Signs dashboard sessions: SESSION_SECRET, or the one kept in the data folder. */
  readonly sessionSecret: string;
  /** How share links address NEXUS from outside (NEXUS_PUBLIC_URL, or the listen address). */
  readonly publicUrl: () => string;
  /** The worker processes as the supervisor knows them now, shown in current snapshots (distributed mode). */
  readonly liveExecutors?: () => LiveExecutors;
  /** RabbitMQ, Redis: reported by `/health`. */
  readonly dependencies?: () => Record<string, 'ok' | 'down'>;
}

const docs = [
  ...healthDocs,
  ...commandDocs,
  ...reportStreamDocs,
  ...agentDocs,
  ...approvalDocs,
  ...auditDocs,
  ...adminTaskDocs,
  ...metricsDocs,
  ...finopsDocs,
  ...shareDocs,
  ...shareLinkDocs,
  ...sessionDocs,
];

/**
 * The HTTP API, with its dependencies passed in.
 *
 * @example
 *   const app = createApp({ config, store, catalog, hub, projection, logger, ... });
 *   serve({ fetch: app.fetch, port: config.PORT });
 */
export function createApp(deps: AppDeps) {
  const { config, logger } = deps;
  const app = new Hono<AppEnv>();
  app.onError(errorHandler(logger));
  app.notFound((c) => {
    const allowed = documentedMethods(docs, c.req.path);
    if (allowed.length === 0) return c.json(errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`), 404);
    return c.json(
      errorBody('method_not_allowed', `${c.req.path} answers ${allowed.join(', ')}, not ${c.req.method}`),
      405,
      { allow: allowed.join(', ') },
    );
  });
  app.use(correlation({ newId: () => deps.newId() }));
  app.use(accessLog(logger));
  if (config.developmentMode) app.use(loopbackHostOnly());

  const document = openApiDocument(docs, {
    title: 'NEXUS',
    version: '0.1.0',
    description: 'A self-hosted, event-sourced supervisor for AI agents and automation work.',
  });
  const guards = createGuards(config, deps);
  const body = { maxBytes: config.MAX_BODY_BYTES, maxDepth: config.MAX_JSON_DEPTH };
  // One counter for every read of history, whichever route it comes by.
  const reads = new ReadBudget({
    perKey: config.EXPENSIVE_READS_PER_KEY,
    msPerSecond: config.EXPENSIVE_READ_MS_PER_SECOND,
  });
  const expensive = beforeARoute(reads.refusing);

  // Public: anyone may reach these (test/unit/route-guards.unit.test.ts lists them).
  app.get('/openapi.json', (c) => c.json(document));
  app.route(
    '/',
    healthRoutes({ ...deps, developmentMode: config.developmentMode, isAdmin: adminCheck(config, guards) }),
  );
  app.route('/shares', shareRoutes(deps));
  app.route('/', dashboardRoutes({ logger }));
  app.route(
    '/session',
    sessionRoutes(
      {
        sessionKey: guards.sessionKey,
        ttlSeconds: config.SESSION_TTL_SECONDS,
        now: deps.now,
        fourEyes: config.APPROVAL_FOUR_EYES,
      },
      guards,
    ),
  );

  // A key, no tenant.
  if (deps.metrics) app.route('/metrics', keyedApi(guards).route('/', metricsRoutes(deps.metrics)));

  // Everything else needs a key and a tenant: the tenant API, mounted last and at `/`.
  const askTerms = { ttl_seconds: config.ASK_TTL_SECONDS, warning_seconds: config.ASK_EXPIRY_WARNING_SECONDS };
  const newId = () => deps.newId();
  const api = tenantApi(guards)
    .route(
      '/sidecar',
      commandRoutes({
        ...deps,
        caps: tenantCaps(config),
        askTtlSeconds: askTerms.ttl_seconds,
        askWarningSeconds: askTerms.warning_seconds,
        body,
      }),
    )
    .route(
      '/agent',
      reportStreamRoutes({
        ...deps,
        sse: {
          heartbeatMs: config.SSE_HEARTBEAT_SECONDS * 1000,
          retryMs: config.SSE_RETRY_MS,
          stallTimeoutMs: config.SSE_STALL_TIMEOUT_SECONDS * 1000,
        },
        resumes: reads.waiting,
        slots: new StreamSlots({
          total: config.SSE_MAX_CONNECTIONS,
          perTenant: config.SSE_MAX_CONNECTIONS_PER_TENANT,
          perKey: config.SSE_MAX_CONNECTIONS_PER_KEY,
        }),
        snapshotMaxBytes: config.SNAPSHOT_MAX_BYTES,
      }),
    )
    .route('/agent', agentRoutes({ ...deps, newId, body, expensive, snapshotMaxBytes: config.SNAPSHOT_MAX_BYTES }))
    .route('/agent', shareLinkRoutes(deps))
    .route(
      '/approvals',
      approvalRoutes({
        ...deps,
        newId,
        fourEyes: config.APPROVAL_FOUR_EYES,
        approvalTtlSeconds: config.ASK_TTL_SECONDS,
        body,
      }),
    )
    .route('/audit', auditRoutes({ ...deps, expensive }))
    .route('/finops', finopsRoutes({ hub: deps.hub as FeedHub<unknown>, expensive }))
    .route('/admin', adminTaskRoutes({ ...deps, newId, body, fourEyes: config.APPROVAL_FOUR_EYES, askTerms }));
  app.route('/', api);
  return app;
}

/** `/health` shows details to the admin key only: a key that does not authenticate just gets the status. */
function adminCheck(config: Config, guards: Guards) {
  return async (c: Context<AppEnv>): Promise<boolean> => {
    if (!config.developmentMode && header(c, 'x-api-key') === undefined) return false;
    return guards
      .authenticate(c, async () => {})
      .then(
        () => c.get('principal').roles.includes('admin'),
        () => false,
      );
  };
}
