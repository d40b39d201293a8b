import { snapshotView, type SnapshotViewDeps } from '../snapshot-view.js';
import { Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { Tenant } from '../../events/tenant.js';
import { toReport } from '../../projections/report-feed.js';
import { feedPage } from '../../store/feed-pages.js';
import { jsonStream } from '../json-stream.js';
import { diffSnapshots } from '../../projections/snapshot-diff.js';
import type { EventStore } from '../../store/event-store.js';
import type { AppEnv } from '../app-env.js';
import { RequestError } from '../errors.js';
import { errorSchema, type RouteDoc } from '../openapi.js';
import { position, reportSchema, snapshotSchema } from '../schemas.js';
import { snapshotTooLarge } from './report-stream.js';
import { type BodyLimits, readJson, readQuery } from '../validation.js';
import { requireRole } from '../auth/api-key-auth.js';
import { setAutopilot } from '../../usecases/set-autopilot.js';
import { callerOf } from '../caller.js';

export const reportsQuery = z.object({
  after: position.default(0).meta({ description: 'Reports with a position strictly greater' }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  up_to: position.optional().meta({ description: 'Time travel: the feed as it stood at this position' }),
});

export const snapshotQuery = z.object({
  at: position.optional().meta({ description: 'Time travel: the snapshot exactly as it stood after this position' }),
});

export const diffQuery = z.object({
  from: position,
  to: position.optional().meta({ description: 'Now when absent' }),
});

export const autopilotBody = z
  .object({ action: z.enum(['pause', 'resume']), reason: z.string().max(2000).optional() })
  .strict();

export const reportsPage = z.object({
  reports: z.array(reportSchema),
  next_after: z.number().int().meta({ description: 'Pass as `after` for the next page' }),
  has_more: z.boolean(),
});

export interface AgentRoutesDeps extends SnapshotViewDeps {
  readonly store: EventStore;
  readonly newId: () => string;
  readonly body: BodyLimits;
  /** Guards the reads that fold or scan history (EXPENSIVE_READS_PER_KEY). */
  readonly expensive: MiddlewareHandler<AppEnv>;
  /** SNAPSHOT_MAX_BYTES */
  readonly snapshotMaxBytes: number;
}

export const agentDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/agent/reports',
    summary: 'A page of the report history (up to a position, for time travel)',
    tags: ['reports'],
    tenant: true,
    query: reportsQuery,
    responses: { 200: { description: 'Reports in position order', schema: reportsPage } },
  },
  {
    method: 'get',
    path: '/agent/snapshot',
    summary: 'The snapshot, now or as of a past position',
    tags: ['reports'],
    tenant: true,
    query: snapshotQuery,
    responses: { 200: { description: 'The read model of this tenant', schema: snapshotSchema } },
  },
  {
    method: 'get',
    path: '/agent/snapshot/diff',
    summary: 'What changed between two positions',
    description:
      'Autopilot before and after, worklog lines added, asks added and resolved, memory keys set and deleted.',
    tags: ['reports'],
    tenant: true,
    query: diffQuery,
    responses: { 200: { description: 'The difference' } },
  },
  {
    method: 'post',
    path: '/agent/autopilot',
    summary: 'Pause or resume dispatching (admin)',
    description:
      'Paused, commands are still accepted and recorded, but none runs until resumed. Reported as autopilot_changed.',
    tags: ['operations'],
    tenant: true,
    body: autopilotBody,
    responses: { 202: { description: 'Recorded' }, 403: { description: 'Not an admin key', schema: errorSchema } },
  },
];

export function agentRoutes(deps: AgentRoutesDeps) {
  /** The snapshot view as of `at` (the current one when `at` is absent or not in the past). */
  async function snapshotAt(tenant: Tenant, at?: number) {
    const { state, position: consistentWith } = await deps.hub.stateAt(tenant, at);
    return snapshotView(deps, state, { tenant, position: consistentWith });
  }

  return new Hono<AppEnv>()
    .get('/reports', deps.expensive, async (c) => {
      const { after, limit, up_to } = readQuery(c, reportsQuery);
      const upTo = up_to === undefined ? {} : { upTo: up_to };
      const { events, hasMore } = await feedPage(deps.store, { tenant: c.get('tenant'), after, limit, ...upTo });
      return jsonStream(c, 'reports', events.map(toReport), {
        next_after: events.at(-1)?.position ?? after,
        has_more: hasMore,
      });
    })
    .get(
      '/snapshot',
      async (c, next) => (c.req.query('at') === undefined ? next() : deps.expensive(c, next)),
      async (c) => {
        const { at } = readQuery(c, snapshotQuery);
        const text = JSON.stringify(await snapshotAt(c.get('tenant'), at));
        if (text.length > deps.snapshotMaxBytes) throw snapshotTooLarge(text.length, deps.snapshotMaxBytes);
        return c.body(text, 200, { 'content-type': 'application/json' });
      },
    )
    .post('/autopilot', requireRole('admin'), async (c) => {
      const { action, reason } = await readJson(c, autopilotBody, deps.body);
      const { autopilot } = await setAutopilot(deps, {
        tenant: c.get('tenant'),
        action,
        caller: callerOf(c),
        ...(reason === undefined ? {} : { reason }),
      });
      return c.json({ status: 'accepted', correlation_id: c.get('correlation_id'), autopilot }, 202);
    })
    .get('/snapshot/diff', deps.expensive, async (c) => {
      const { from, to } = readQuery(c, diffQuery);
      if (to !== undefined && to < from) throw new RequestError(400, 'invalid_query', '`to` must not be before `from`');
      const tenant = c.get('tenant');
      return c.json(diffSnapshots(await snapshotAt(tenant, from), await snapshotAt(tenant, to)));
    });
}
