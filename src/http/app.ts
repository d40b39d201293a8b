import { Hono } from 'hono';
import type { Catalog } from '../catalog/catalog.js';
import type { RiskPolicy } from '../catalog/risk-policy.js';
import { tenantCaps, type Config } from '../config/load-config.js';
import type { Holding } from '../commands/tenant-caps.js';
import type { Tenant } from '../events/tenant.js';
import type { FeedHub } from '../fanout/feed-hub.js';
import type { Logger } from '../observability/logger.js';
import type { SnapshotProjection, SnapshotState } from '../projections/snapshot.js';
import type { EventStore } from '../store/event-store.js';
import type { AppEnv } from './app-env.js';
import { errorBody, errorHandler } from './errors.js';
import { accessLog } from './middleware/access-log.js';
import { apiKeyAuth, tenantScope } from './auth/api-key-auth.js';
import { correlation } from './middleware/correlation.js';
import { loopbackHostOnly } from './middleware/loopback-host.js';
import { rateLimit, type SharedBuckets } from './middleware/rate-limit.js';
import { ReadBudget } from './middleware/expensive-reads.js';
import { authAttempts } from './auth/auth-attempts.js';
import { StreamSlots } from './sse/stream-slots.js';
import { header } from './header.js';
import { tenantHeaders } from './middleware/tenant.js';
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
import { requireSession, sessionDocs, sessionRoutes, signOutRoute } from './routes/session.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { sessionKey } from './auth/session-token.js';

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
  /** RabbitMQ, Redis: reported by `/health`. */
  readonly dependencies?: () => Record<string, 'ok' | 'down'>;
}

const docs = [...healthDocs, ...commandDocs, ...reportStreamDocs, ...agentDocs, ...approvalDocs, ...auditDocs, ...adminTaskDocs, ...metricsDocs, ...finopsDocs, ...shareDocs, ...shareLinkDocs, ...sessionDocs];

/** Route prefixes that need a key and a tenant. */
const TENANT_PREFIXES = ['/sidecar', '/agent', '/approvals', '/audit', '/admin', '/finops'];

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
    return c.json(errorBody('method_not_allowed', `${c.req.path} answers ${allowed.join(', ')}, not ${c.req.method}`), 405, { allow: allowed.join(', ') });
  });
  app.use(correlation({ newId: () => deps.newId() }));
  app.use(accessLog(logger));
  if (config.developmentMode) app.use(loopbackHostOnly());

  const document = openApiDocument(docs, {
    title: 'NEXUS',
    version: '0.1.0',
    description: 'A self-hosted, event-sourced supervisor for AI agents and automation work.',
  });
  app.get('/openapi.json', (c) => c.json(document));
  app.route('/shares', shareRoutes(deps));
  app.route('/', dashboardRoutes());
  app.route('/', signOutRoute());

  const body = { maxBytes: config.MAX_BODY_BYTES, maxDepth: config.MAX_JSON_DEPTH };
  // One counter for every read of history, whichever route it comes by.
  const reads = new ReadBudget({ perKey: config.EXPENSIVE_READS_PER_KEY, msPerSecond: config.EXPENSIVE_READ_MS_PER_SECOND });
  const expensive = reads.refusing;
  const signingKey = sessionKey(deps.sessionSecret);
  const attempts = authAttempts({ perMinute: config.AUTH_FAILURES_PER_MINUTE });
  const authenticate = attempts.guard(
    apiKeyAuth({
      apiKey: config.NEXUS_API_KEY,
      adminKey: config.ADMIN_API_KEY,
      principals: config.principals,
      developmentMode: config.developmentMode,
      sessionKey: signingKey,
      now: () => deps.now().getTime(),
    }),
  );
  app.route(
    '/',
    healthRoutes({
      ...deps,
      developmentMode: config.developmentMode,
      // Details for the admin key only: a key that does not authenticate just gets the status.
      isAdmin: async (c) => {
        if (!config.developmentMode && header(c, 'x-api-key') === undefined) return false;
        return authenticate(c, async () => {}).then(
          () => c.get('principal').roles.includes('admin'),
          () => false,
        );
      },
    }),
  );
  const tenant = tenantHeaders();
  const inScope = tenantScope();
  const limited = rateLimit({ perSecond: config.RATE_LIMIT_PER_SECOND, burst: config.RATE_LIMIT_BURST, shared: deps.rateBuckets });
  for (const prefix of TENANT_PREFIXES) app.use(`${prefix}/*`, authenticate, tenant, inScope, limited);
  // Not rate-limited per tenant: a page checking its session after a restart must not be told
  // to sign in. Signing in counts against the address's attempts.
  app.post('/session', authenticate, attempts.counting, tenant, inScope);
  app.get('/session', authenticate, requireSession, tenant, inScope);
  if (deps.metrics) app.route('/', metricsRoutes(deps.metrics, authenticate));

  app.route(
    '/approvals',
    approvalRoutes({ ...deps, fourEyes: config.APPROVAL_FOUR_EYES, approvalTtlSeconds: config.ASK_TTL_SECONDS, body, newId: () => deps.newId() }),
  );
  app.route('/sidecar', commandRoutes({
      ...deps,
      caps: tenantCaps(config),
      askTtlSeconds: config.ASK_TTL_SECONDS,
      askWarningSeconds: config.ASK_EXPIRY_WARNING_SECONDS,
      body,
    }));
  app.route(
    '/agent',
    reportStreamRoutes({
      ...deps,
      sse: {
        heartbeatMs: config.SSE_HEARTBEAT_SECONDS * 1000,
        retryMs: config.SSE_RETRY_MS,
        stallTimeoutMs: config.SSE_STALL_TIMEOUT_SECONDS * 1000,
      },
      resumes: reads.waiting,
      slots: new StreamSlots({ total: config.SSE_MAX_CONNECTIONS, perTenant: config.SSE_MAX_CONNECTIONS_PER_TENANT, perKey: config.SSE_MAX_CONNECTIONS_PER_KEY }),
      snapshotMaxBytes: config.SNAPSHOT_MAX_BYTES,
    }),
  );
  app.route('/agent', agentRoutes({ ...deps, newId: () => deps.newId(), body, expensive, snapshotMaxBytes: config.SNAPSHOT_MAX_BYTES }));
  app.route('/session', sessionRoutes({ sessionKey: signingKey, ttlSeconds: config.SESSION_TTL_SECONDS, now: deps.now, fourEyes: config.APPROVAL_FOUR_EYES }));
  app.route('/agent', shareLinkRoutes(deps));
  app.route('/audit', auditRoutes({ ...deps, expensive }));
  app.route('/finops', finopsRoutes({ hub: deps.hub as FeedHub<unknown>, expensive }));
  app.route(
    '/admin',
    adminTaskRoutes({
      ...deps,
      newId: () => deps.newId(),
      body,
      fourEyes: config.APPROVAL_FOUR_EYES,
      askTerms: { ttl_seconds: config.ASK_TTL_SECONDS, warning_seconds: config.ASK_EXPIRY_WARNING_SECONDS },
    }),
  );
  return app;
}
