import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import { z } from 'zod';
import type { FeedHub } from '../../fanout/feed-hub.js';
import type { Logger } from '../../logger.js';
import { toReport } from '../../projections/report-feed.js';
import type { SnapshotProjection, SnapshotState } from '../../projections/snapshot.js';
import type { Tenant } from '../../events/tenant.js';
import type { EventStore } from '../../store/event-store.js';
import type { AppEnv } from '../app-env.js';
import { RequestError } from '../errors.js';
import type { RouteDoc } from '../openapi.js';
import { retryFrame, snapshotFrame } from '../sse-frames.js';
import { SseSession } from '../sse-session.js';
import { readQuery } from '../validation.js';
import { header } from '../header.js';

const position = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const streamQuery = z.object({
  last_event_id: z
    .preprocess((value) => (value === '' ? undefined : value), position.optional())
    .meta({ description: 'Resume after this position (for EventSource, which cannot set Last-Event-ID)' }),
});

export const reportsQuery = z.object({
  after: position.default(0).meta({ description: 'Reports with a position strictly greater' }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const reportSchema = z.object({
  report_id: z.string(),
  report_type: z.string(),
  position: z.number().int(),
  correlation_id: z.string(),
  command_id: z.string().nullable(),
  task_id: z.string().nullable(),
  payload: z.record(z.string(), z.unknown()),
  timestamp: z.string(),
});

const snapshotSchema = z.object({
  autopilot: z.object({
    status: z.enum(['idle', 'running', 'paused']),
    queued: z.number(),
    running: z.number(),
    awaiting_approval: z.number(),
    dead_lettered: z.number(),
  }),
  worklog: z.array(z.record(z.string(), z.unknown())),
  asks: z.array(z.record(z.string(), z.unknown())),
  memory: z.record(z.string(), z.unknown()),
  sidecar: z.record(z.string(), z.unknown()),
  org_id: z.string(),
  project_id: z.string(),
  position: z.number().int(),
  timestamp: z.string(),
});

export const reportsPage = z.object({
  reports: z.array(reportSchema),
  next_after: z.number().int().meta({ description: 'Pass as `after` for the next page' }),
  has_more: z.boolean(),
});

export interface AgentRoutesDeps {
  readonly store: EventStore;
  readonly hub: FeedHub<SnapshotState>;
  readonly projection: SnapshotProjection;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly shutdown: AbortSignal;
  readonly sse: { heartbeatMs: number; retryMs: number; stallTimeoutMs: number };
}

export const agentDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/agent/reports/stream',
    summary: 'The live report stream (SSE)',
    description:
      'First a `snapshot` event (id: the position it is consistent with), then a `report` event per change, `id:` = event position. Resume with Last-Event-ID or ?last_event_id=N: the snapshot as of N, then exactly the reports after N.',
    tags: ['reports'],
    tenant: true,
    headers: { 'last-event-id': { schema: position, description: 'Resume after this position' } },
    query: streamQuery,
    responses: { 200: { description: 'An endless text/event-stream', contentType: 'text/event-stream' } },
  },
  {
    method: 'get',
    path: '/agent/reports',
    summary: 'A page of the report history',
    tags: ['reports'],
    tenant: true,
    query: reportsQuery,
    responses: { 200: { description: 'Reports in position order', schema: reportsPage } },
  },
  {
    method: 'get',
    path: '/agent/snapshot',
    summary: 'The current snapshot',
    tags: ['reports'],
    tenant: true,
    responses: { 200: { description: 'The read model of this tenant', schema: snapshotSchema } },
  },
];

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
};

function resumePosition(header: string | undefined, query: number | undefined): number | undefined {
  if (header === undefined || header === '') return query;
  const parsed = position.safeParse(header);
  if (!parsed.success) throw new RequestError(400, 'invalid_last_event_id', 'Last-Event-ID must be an event position (an integer)');
  return parsed.data;
}

export function agentRoutes(deps: AgentRoutesDeps) {
  /** The snapshot as of `at` (the current one when `at` is absent or not in the past). */
  async function snapshotAt(tenant: Tenant, at: number | undefined) {
    const feed = deps.hub.feed(tenant);
    if (at !== undefined && at < deps.hub.position) return { state: await feed.stateAt(at), position: at };
    return feed.current();
  }

  return new Hono<AppEnv>()
    .get('/reports/stream', async (c) => {
      const { last_event_id } = readQuery(c, streamQuery);
      const resume = resumePosition(header(c, 'last-event-id'), last_event_id);
      const tenant = c.get('tenant');
      const correlationId = c.get('correlation_id');
      if (deps.shutdown.aborted) throw new RequestError(503, 'shutting_down', 'NEXUS is shutting down; reconnect in a moment');
      const res = c.env.outgoing;
      // Listen for the end from the start: the client may leave while the snapshot is made.
      const ended = new AbortController();
      const end = () => ended.abort();
      res.once('close', end);
      deps.shutdown.addEventListener('abort', end, { once: true });
      const feed = deps.hub.attach(tenant);
      const release = () => {
        deps.hub.detach(feed);
        res.off('close', end);
        deps.shutdown.removeEventListener('abort', end);
      };
      try {
        const { state, position: after } = await snapshotAt(tenant, resume);
        if (ended.signal.aborted || res.destroyed) {
          release();
          if (!res.destroyed) res.end();
          return RESPONSE_ALREADY_SENT;
        }
        const snapshot = deps.projection.view(state, { tenant, position: after, timestamp: deps.now().toISOString() });
        const preamble = [retryFrame(deps.sse.retryMs), snapshotFrame(snapshot)];
        const headers = { ...SSE_HEADERS, 'x-correlation-id': correlationId };
        new SseSession(res, feed, { preamble, after }, { ...deps.sse, batchSize: 500, headers }, ended.signal, release);
      } catch (error) {
        release();
        throw error;
      }
      return RESPONSE_ALREADY_SENT;
    })
    .get('/reports', async (c) => {
      const { after, limit } = readQuery(c, reportsQuery);
      const events = await deps.store.readFeed({ tenant: c.get('tenant'), after, limit: limit + 1 });
      const page = events.slice(0, limit);
      return c.json({
        reports: page.map(toReport),
        next_after: page.length > 0 ? page[page.length - 1]!.position : after,
        has_more: events.length > limit,
      });
    })
    .get('/snapshot', async (c) => {
      const tenant = c.get('tenant');
      const { state, position: at } = await snapshotAt(tenant, undefined);
      return c.json(deps.projection.view(state, { tenant, position: at, timestamp: deps.now().toISOString() }));
    });
}
