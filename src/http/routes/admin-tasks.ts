import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { commandLifeDecider, type AskTerms, type CommandLifeCommand } from '../../commands/command-life.js';
import { fold } from '../../commands/decider.js';
import type { FourEyesRule } from '../../commands/four-eyes.js';
import { handleCommand } from '../../commands/handle-command.js';
import { commandStream } from '../../events/command-events.js';
import type { FeedHub } from '../../fanout/feed-hub.js';
import { isHeld } from '../../projections/held-tasks.js';
import type { SnapshotState } from '../../projections/snapshot.js';
import type { EventStore } from '../../store/event-store.js';
import type { AppEnv } from '../app-env.js';
import { RequestError } from '../errors.js';
import { requireRole } from '../auth/api-key-auth.js';
import { errorSchema, type RouteDoc } from '../openapi.js';
import { type BodyLimits, readJson } from '../validation.js';

export interface AdminTaskDeps {
  readonly store: EventStore;
  readonly hub: FeedHub<SnapshotState>;
  readonly now: () => Date;
  readonly newId: () => string;
  readonly body: BodyLimits;
  /** APPROVAL_FOUR_EYES: a RED command requeued by its requester asks again. */
  readonly fourEyes: FourEyesRule;
  /** The ask a RED command gets when requeued past its approval. */
  readonly askTerms: AskTerms;
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
  const decide = (action: 'requeue' | 'discard') =>
    async function decideHeld(c: Context<AppEnv>) {
      const { reason } = await readJson(c, adminDecisionBody, deps.body);
      const commandId = c.req.param('command_id') ?? '';
      const tenant = c.get('tenant');
      const principal = c.get('principal');
      const stream = commandStream(commandId);
      const events = await deps.store.readStream(tenant, stream);
      const first = events[0];
      const taskId = (first?.data as { task_id?: string } | undefined)?.task_id;
      if (first === undefined || taskId === undefined) throw new RequestError(404, 'command_not_found', `no command ${commandId} in this tenant`);
      // Every event of a command carries its own correlation id; the admin's request is the cause.
      const metadata = { now: deps.now(), correlation_id: first.metadata.correlation_id, actor: principal.id, causation_id: c.get('correlation_id') };
      const why = reason === undefined ? {} : { reason };
      const command: CommandLifeCommand =
        action === 'requeue'
          ? {
              type: 'RequeueHeldTask',
              data: { task_id: taskId, four_eyes: { rule: deps.fourEyes, shared: principal.shared === true }, ask_terms: deps.askTerms, ...why },
              metadata,
            }
          : { type: 'DiscardHeldTask', data: { task_id: taskId, ...why }, metadata };
      const known = { state: fold(commandLifeDecider.evolve, commandLifeDecider.initialState(), events as never[]), revision: events.at(-1)!.revision };
      const { events: recorded } = await handleCommand(deps.store, commandLifeDecider, { tenant, stream }, command, { newEventId: deps.newId, known });
      const ask = recorded.find((event) => event.type === 'AskCreated')?.data as { ask_id: string } | undefined;
      c.header('x-correlation-id', first.metadata.correlation_id);
      return c.json(
        { status: 'accepted', correlation_id: first.metadata.correlation_id, command_id: commandId, action, ...(ask === undefined ? {} : { ask_id: ask.ask_id }) },
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
