import { Hono } from 'hono';
import { z } from 'zod';
import { summarizeSpend } from '../../projections/finops.js';
import type { EventStore } from '../../store/event-store.js';
import { feedPages } from '../../store/feed-pages.js';
import type { AppEnv } from '../app-env.js';
import type { RouteDoc } from '../openapi.js';
import { readQuery } from '../validation.js';

const finopsQuery = z.object({
  /** Only calls on or after this day (YYYY-MM-DD, UTC). */
  since: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD').optional(),
});

export const finopsDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/finops',
    summary: "The tenant's LLM spend by day, provider, model and command type",
    tags: ['operations'],
    tenant: true,
    query: finopsQuery,
    responses: { 200: { description: '`{"total","by_day","by_provider","by_model","by_command_type"}`, each calls, failed, tokens and cost_usd' } },
  },
];

export function finopsRoutes(deps: { store: EventStore }) {
  return new Hono<AppEnv>().get('/', async (c) => {
    const { since } = readQuery(c, finopsQuery);
    const tenant = c.get('tenant');
    const calls = [];
    for await (const page of feedPages(deps.store, { tenant, types: ['LlmCallRecorded'] })) {
      calls.push(...page.filter((e) => since === undefined || e.metadata.occurred_at.slice(0, 10) >= since));
    }
    return c.json(summarizeSpend(calls));
  });
}
