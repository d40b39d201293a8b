import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { FeedHub } from '../../fanout/feed-hub.js';
import { isHeld } from '../../projections/held-tasks.js';
import type { SnapshotState } from '../../projections/snapshot.js';
import { discardHeldTask, requeueHeldTask, type HeldTaskDeps } from '../../usecases/held-tasks.js';
import type { AppEnv } from '../app-env.js';
import { requireRole } from '../auth/api-key-auth.js';
import { callerOf } from '../caller.js';
import { errorSchema, type RouteDoc } from '../openapi.js';
import { type BodyLimits, readJson } from '../validation.js';

export interface AdminTaskDeps extends HeldTaskDeps {
  readonly hub: FeedHub<SnapshotState>;
  readonly body: BodyLimits;
}

export const adminDecisionBody = z.object({ reason: z.string().max(2000).optional() }).strict();

export const adminTaskDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/admin/tasks/dead-letters',
    summary: 'Dead-lettered tasks: held ones (hold, alarm) wait for an admin (admin)',
    tags: ['operations'],
    tenant: true,
    responses: {
      200: { description: '`{"held":[…],"kept":[…]}`' },
      403: { description: 'Not an admin key', schema: errorSchema },
    },
  },
  ...(['requeue', 'discard'] as const).map((action): RouteDoc => ({
    method: 'post',
    path: `/admin/tasks/{command_id}/${action}`,
    summary:
      action === 'requeue'
        ? 'Sends a held task back to the queue for one more attempt (admin)'
        : 'Gives up on a held task (admin)',
    tags: ['operations'],
    tenant: true,
    body: adminDecisionBody,
    responses: {
      202: { description: 'Recorded' },
      403: { description: 'Not an admin key', schema: errorSchema },
      404: { description: 'No such command in this tenant', schema: errorSchema },
      409: { description: 'The task is not held', schema: errorSchema },
    },
  })),
];

/** Admin routes over dead-lettered tasks: list them, requeue or discard the held ones. */
export function adminTaskRoutes(deps: AdminTaskDeps) {
  const decide = (action: 'requeue' | 'discard') =>
    async function decideHeld(c: Context<AppEnv>) {
      const { reason } = await readJson(c, adminDecisionBody, deps.body);
      const commandId = c.req.param('command_id') ?? '';
      const request = {
        tenant: c.get('tenant'),
        command_id: commandId,
        caller: callerOf(c),
        ...(reason === undefined ? {} : { reason }),
      };
      const decided = await (action === 'requeue' ? requeueHeldTask : discardHeldTask)(deps, request);
      c.header('x-correlation-id', decided.correlation_id);
      return c.json(
        {
          status: 'accepted',
          correlation_id: decided.correlation_id,
          command_id: commandId,
          action,
          ...(decided.ask_id === undefined ? {} : { ask_id: decided.ask_id }),
        },
        202,
      );
    };
  return new Hono<AppEnv>()
    .use('*', requireRole('admin'))
    .get('/tasks/dead-letters', async (c) => {
      // The tenant's snapshot holds them, as the dashboard sees them.
      const letters = (await deps.hub.feed(c.get('tenant')).current()).state.dead_letters;
      return c.json({ held: letters.filter(isHeld), kept: letters.filter((letter) => !isHeld(letter)) });
    })
    .post('/tasks/:command_id/requeue', decide('requeue'))
    .post('/tasks/:command_id/discard', decide('discard'));
}
