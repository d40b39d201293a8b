import { Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { summarizeSpend } from '../../projections/finops.js';
import type { FeedHub } from '../../fanout/feed-hub.js';
import type { AppEnv } from '../app-env.js';
import type { RouteDoc } from '../openapi.js';
import { readQuery } from '../validation.js';

const finopsQuery = z.object({
  /** Only calls on or after this day (YYYY-MM-DD, UTC). */
  since: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD')
    .optional(),
});

export const finopsDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/finops',
    summary: "The tenant's LLM spend by day, provider, model and command type",
    tags: ['operations'],
    tenant: true,
    query: finopsQuery,
    responses: {
      200: {
        description:
          '`{"total","by_day","by_provider","by_model","by_command_type"}`, each calls, failed, tokens and cost_usd',
      },
    },
  },
];

export function finopsRoutes(deps: { hub: FeedHub<unknown>; expensive: MiddlewareHandler<AppEnv> }) {
  return new Hono<AppEnv>().get('/', deps.expensive, async (c) => {
    const { since } = readQuery(c, finopsQuery);
    return c.json(summarizeSpend(await deps.hub.feed(c.get('tenant')).spend(), since));
  });
}
