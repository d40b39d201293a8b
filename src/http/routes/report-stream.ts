import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { snapshotView, type SnapshotViewDeps } from '../snapshot-view.js';
import { Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.js';
import { RequestError } from '../errors.js';
import { header } from '../header.js';
import type { RouteDoc } from '../openapi.js';
import { position } from '../schemas.js';
import { retryFrame, snapshotFrame } from '../sse/sse-frames.js';
import { SseSession } from '../sse/sse-session.js';
import { readQuery } from '../validation.js';
import type { StreamSlots } from '../sse/stream-slots.js';
import { tenantKey } from '../../events/tenant.js';

/** A snapshot too large to send (SNAPSHOT_MAX_BYTES): it shrinks as asks are decided and memory freed. */
export const snapshotTooLarge = (bytes: number, max: number) =>
  new RequestError(
    503,
    'snapshot_too_large',
    `this tenant's snapshot takes ${bytes} bytes, more than SNAPSHOT_MAX_BYTES (${max}); decide asks or free memory`,
    {
      retry_after_seconds: 30,
    },
  );

export const streamQuery = z.object({
  last_event_id: z
    .preprocess((value) => (value === '' ? undefined : value), position.optional())
    .meta({ description: 'Resume after this position (for EventSource, which cannot set Last-Event-ID)' }),
});

export interface ReportStreamDeps extends SnapshotViewDeps {
  readonly shutdown: AbortSignal;
  readonly sse: { heartbeatMs: number; retryMs: number; stallTimeoutMs: number };
  /** The caps on open streams. */
  readonly slots: StreamSlots;
  /** Paces the snapshots of resumed streams by the key's budget for reads of history. */
  readonly resumes: MiddlewareHandler<AppEnv>;
  /** SNAPSHOT_MAX_BYTES */
  readonly snapshotMaxBytes: number;
}

export const reportStreamDocs: RouteDoc[] = [
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
  if (!parsed.success)
    throw new RequestError(400, 'invalid_last_event_id', 'Last-Event-ID must be an event position (an integer)');
  return parsed.data;
}

export function reportStreamRoutes(deps: ReportStreamDeps) {
  const resumed: MiddlewareHandler<AppEnv> = async (c, next) =>
    header(c, 'last-event-id') === undefined && c.req.query('last_event_id') === undefined
      ? next()
      : deps.resumes(c, next);
  return new Hono<AppEnv>().get('/reports/stream', resumed, async (c) => {
    // A HEAD asks for the headers a stream would get, not for a stream.
    if (c.req.method === 'HEAD') return c.body(null, 200, SSE_HEADERS);
    const { last_event_id } = readQuery(c, streamQuery);
    const resume = resumePosition(header(c, 'last-event-id'), last_event_id);
    const tenant = c.get('tenant');
    if (deps.shutdown.aborted)
      throw new RequestError(503, 'shutting_down', 'NEXUS is shutting down; reconnect in a moment');
    const slot = deps.slots.take(tenantKey(tenant), c.get('key_fingerprint'));
    const res = c.env.outgoing;
    // Listen for the end from the start: the client may leave while the snapshot is made.
    const ended = new AbortController();
    const end = () => ended.abort();
    res.once('close', end);
    deps.shutdown.addEventListener('abort', end, { once: true });
    const feed = deps.hub.attach(tenant);
    const release = () => {
      slot();
      deps.hub.detach(feed);
      res.off('close', end);
      deps.shutdown.removeEventListener('abort', end);
    };
    try {
      const { state, position: after } = await deps.hub.stateAt(tenant, resume, ended.signal);
      if (ended.signal.aborted || res.destroyed) {
        release();
        if (!res.destroyed) res.end();
        return RESPONSE_ALREADY_SENT;
      }
      // The stream goes live right after it: today's workers belong in it, even on a resume.
      const snapshot = snapshotView(deps, state, { tenant, position: after, current: true });
      const frame = snapshotFrame(snapshot);
      if (frame.length > deps.snapshotMaxBytes) throw snapshotTooLarge(frame.length, deps.snapshotMaxBytes);
      const preamble = [retryFrame(deps.sse.retryMs), frame];
      const headers = { ...SSE_HEADERS, 'x-correlation-id': c.get('correlation_id') };
      new SseSession(res, feed, { preamble, after }, { ...deps.sse, batchSize: 500, headers }, ended.signal, release);
    } catch (error) {
      release();
      // The client left (or NEXUS is stopping) while it waited for this replica to catch up.
      if (!ended.signal.aborted) throw error;
      if (!res.destroyed) res.end();
    }
    return RESPONSE_ALREADY_SENT;
  });
}
