import { Hono, type MiddlewareHandler } from 'hono';
import { oneAtATime } from '../middleware/expensive-reads.js';
import { z } from 'zod';
import type { Tenant } from '../../events/tenant.js';
import { approvalRecord, type ApprovalRecord } from '../../projections/approval-audit.js';
import { betweenPages, type EventStore } from '../../store/event-store.js';
import type { AppEnv } from '../app-env.js';
import type { RouteDoc } from '../openapi.js';
import { position } from '../schemas.js';
import { readQuery } from '../validation.js';
import { jsonStream } from '../json-stream.js';
import { feedPage } from '../../store/feed-pages.js';

export const auditQuery = z.object({
  after: position.default(0).meta({ description: 'Asks created after this position' }),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  format: z
    .enum(['json', 'ndjson'])
    .default('json')
    .meta({ description: 'ndjson: every record, one per line, as a download' }),
});

export interface AuditRoutesDeps {
  readonly store: EventStore;
  /** Guards the reads that scan history (EXPENSIVE_READS_PER_KEY). */
  readonly expensive: MiddlewareHandler<AppEnv>;
}

export const auditDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/audit/approvals',
    summary: 'Every RED ask with its whole chain',
    description:
      'Who requested what (the exact payload and its hash), who decided, when and why, what ran and its result, with the positions of the events each record comes from. format=ndjson exports them all.',
    tags: ['audit'],
    tenant: true,
    query: auditQuery,
    responses: { 200: { description: '{"approvals":[…],"next_after","has_more"}, or NDJSON' } },
  },
  {
    method: 'get',
    path: '/audit/verify',
    summary: "Checks the tenant's hash chain",
    description:
      'Recomputes the chain over the stored events: an edited, inserted or removed event shows as broken_at. Keep `head` elsewhere to detect a rewrite of the whole log.',
    tags: ['audit'],
    tenant: true,
    responses: { 200: { description: '{"ok","events","head","broken_at"?,"reason"?}' } },
  },
];

const ASK_TYPES = ['AskCreated'];
/** Commands read and folded between two turns of the event loop. */
const STREAMS_PER_TURN = 20;

/** A page of approval records: asks created after `after`, each folded from its command's stream. */
async function approvals(store: EventStore, tenant: Tenant, after: number, limit: number) {
  const { events: page, hasMore } = await feedPage(store, { tenant, after, types: ASK_TYPES, limit });
  const records: ApprovalRecord[] = [];
  // One stream at a time: a page of large commands is never all in memory at once, and
  // other requests go in between.
  for (const [i, ask] of page.entries()) {
    const record =
      ask.type === 'AskCreated'
        ? approvalRecord(await store.readStream(tenant, ask.stream), ask.data.ask_id)
        : undefined;
    if (record) records.push(record);
    if (i % STREAMS_PER_TURN === STREAMS_PER_TURN - 1) await betweenPages();
  }
  return { approvals: records, next_after: page.at(-1)?.position ?? after, has_more: hasMore };
}

export function auditRoutes(deps: AuditRoutesDeps) {
  return (
    new Hono<AppEnv>()
      .use(deps.expensive)
      .get('/approvals', async (c) => {
        const { after, limit, format } = readQuery(c, auditQuery);
        const tenant = c.get('tenant');
        if (format === 'json') {
          const { approvals: records, ...rest } = await approvals(deps.store, tenant, after, limit);
          return jsonStream(c, 'approvals', records, rest);
        }
        const encoder = new TextEncoder();
        let cursor = after;
        let done = false;
        const body = new ReadableStream<Uint8Array>({
          async pull(controller) {
            if (done) return controller.close();
            const page = await approvals(deps.store, tenant, cursor, 200);
            if (page.approvals.length > 0)
              controller.enqueue(encoder.encode(page.approvals.map((r) => `${JSON.stringify(r)}\n`).join('')));
            cursor = page.next_after;
            done = !page.has_more;
          },
        });
        const name = `approvals-${tenant.org_id}-${tenant.project_id}.ndjson`;
        return c.body(body, 200, {
          'content-type': 'application/x-ndjson',
          'content-disposition': `attachment; filename="${name}"`,
        });
      })
      // A verification keeps a core busy: one at a time in the process.
      .get('/verify', oneAtATime('verification of a hash chain'), async (c) =>
        c.json(await deps.store.verifyChain(c.get('tenant'))),
      )
  );
}
