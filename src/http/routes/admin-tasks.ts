import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { commandLifeDecider } from '../../commands/command-life.js';
import { CommandNotFoundError, TaskNotHeldError } from '../../commands/errors.js';
import { handleCommand } from '../../commands/handle-command.js';
import { commandStream } from '../../events/command-events.js';
import type { FeedHub } from '../../fanout/feed-hub.js';
import { isHeld } from '../../projections/held-tasks.js';
import type { SnapshotState } from '../../projections/snapshot.js';
import type { EventStore } from '../../store/event-store.js';
import type { AppEnv } from '../app-env.js';
import { RequestError } from '../errors.js';
import { requireRole } from '../middleware/auth.js';
import { errorSchema, type RouteDoc } from '../openapi.js';
import { type BodyLimits, readJson } from '../validation.js';

export interface AdminTaskDeps {
  readonly store: EventStore;
  readonly hub: FeedHub<SnapshotState>;
  readonly now: () => Date;
  readonly newId: () => string;
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
    responses: { 200: { description: '`{"held":[…],"kept":[…]}`' }, 403: { description: 'Not an admin key', schema: errorSchema } },
  },
  ...(['requeue', 'discard'] as const).map(
    (action): RouteDoc => ({
      method: 'post',
      path: `/admin/tasks/{command_id}/${action}`,
      summary: action === 'requeue' ? 'Sends a held task back to the queue for one more attempt (admin)' : 'Gives up on a held task (admin)',
      tags: ['operations'],
      tenant: true,
      body: adminDecisionBody,
      responses: {
        202: { description: 'Recorded' },
        403: { description: 'Not an admin key', schema: errorSchema },
        404: { description: 'No such command in this tenant', schema: errorSchema },
        409: { description: 'The task is not held', schema: errorSchema },
      },
    }),
  ),
];

/** Admin routes over dead-lettered tasks: list them, requeue or discard the held ones. */
export function adminTaskRoutes(deps: AdminTaskDeps) {
  const decide = (action: 'RequeueHeldTask' | 'DiscardHeldTask') =>
    async function decideHeld(c: Context<AppEnv>) {
      const { reason } = await readJson(c, adminDecisionBody, deps.body);
      const commandId = c.req.param('command_id') ?? '';
      const tenant = c.get('tenant');
      const correlationId = c.get('correlation_id');
      const events = await deps.store.readStream(tenant, commandStream(commandId));
      const taskId = (events[0]?.data as { task_id?: string } | undefined)?.task_id;
      if (taskId === undefined) throw new RequestError(404, 'command_not_found', `no command ${commandId} in this tenant`);
      try {
        await handleCommand(
          deps.store,
          commandLifeDecider,
          { tenant, stream: commandStream(commandId) },
          { type: action, data: { task_id: taskId, ...(reason === undefined ? {} : { reason }) }, metadata: { now: deps.now(), correlation_id: correlationId, actor: c.get('principal').id } },
          { newEventId: deps.newId },
        );
      } catch (error) {
        if (error instanceof TaskNotHeldError) throw new RequestError(409, 'task_not_held', error.message);
        if (error instanceof CommandNotFoundError) throw new RequestError(404, 'command_not_found', error.message);
        throw error;
      }
      return c.json({ status: 'accepted', correlation_id: correlationId, command_id: commandId, action: action === 'RequeueHeldTask' ? 'requeue' : 'discard' }, 202);
    };
  return new Hono<AppEnv>()
    .use('*', requireRole('admin'))
    .get('/tasks/dead-letters', async (c) => {
      // The tenant's snapshot holds them, as the dashboard sees them.
      const letters = (await deps.hub.feed(c.get('tenant')).current()).state.dead_letters;
      return c.json({ held: letters.filter(isHeld), kept: letters.filter((letter) => !isHeld(letter)) });
    })
    .post('/tasks/:command_id/requeue', decide('RequeueHeldTask'))
    .post('/tasks/:command_id/discard', decide('DiscardHeldTask'));
}
