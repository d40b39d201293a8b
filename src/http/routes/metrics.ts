import { Hono } from 'hono';
import type { Registry } from 'prom-client';
import type { AppEnv } from '../app-env.js';
import { requireRole } from '../auth/api-key-auth.js';
import { errorSchema, type RouteDoc } from '../openapi.js';

export const metricsDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics (admin key)',
    description:
      'Commands by type and outcome, retries, triage, queue depth, tasks in flight, DLQ depth, SSE clients, append latency.',
    tags: ['operations'],
    tenant: false,
    key: true,
    responses: {
      200: { description: 'Prometheus text format' },
      401: { description: 'No key', schema: errorSchema },
      403: { description: 'Not an admin key', schema: errorSchema },
    },
  },
];

/** Mounted at `/metrics`, behind a key (`keyedApi`); the admin role is its own guard. */
export function metricsRoutes(registry: Registry) {
  return new Hono<AppEnv>().get('/', requireRole('admin'), async (c) =>
    c.text(await registry.metrics(), 200, { 'content-type': registry.contentType }),
  );
}
