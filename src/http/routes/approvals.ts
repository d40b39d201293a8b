import { Hono } from 'hono';
import { z } from 'zod';
import type { FeedHub } from '../../fanout/feed-hub.js';
import type { SnapshotState } from '../../projections/snapshot.js';
import { answerAsk, type AnswerAskDeps } from '../../usecases/answer-ask.js';
import type { AppEnv } from '../app-env.js';
import { requireRole } from '../auth/api-key-auth.js';
import { callerOf } from '../caller.js';
import { errorSchema, type RouteDoc } from '../openapi.js';
import { type BodyLimits, readJson, readQuery } from '../validation.js';

export const decisionBody = z
  .object({
    decision: z.enum(['approve', 'deny']),
    reason: z.string().max(2000).optional(),
    payload_hash: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional()
      .meta({
        description: 'The payload_hash of the ask as the decider saw it: refused (409) if the ask holds another',
      }),
  })
  .strict();

export const decisionAccepted = z.object({
  status: z.literal('accepted'),
  correlation_id: z.string(),
  ask_id: z.string(),
  command_id: z.string(),
  decision: z.enum(['approve', 'deny']),
});

export const approvalsQuery = z.object({
  command_type: z.string().optional(),
  risk_level: z.enum(['GREEN', 'YELLOW', 'RED']).optional(),
  requested_by: z.string().optional(),
});

export interface ApprovalRoutesDeps extends AnswerAskDeps {
  readonly hub: FeedHub<SnapshotState>;
  readonly body: BodyLimits;
}

export const approvalDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/approvals/{ask_id}/decide',
    summary: 'Approve or deny an ask',
    description:
      "Answers 202 once the decision is recorded; ask_resolved follows on the stream, then (approved) the task runs under the command's correlation id. The decider is the authenticated principal; APPROVAL_FOUR_EYES says whether whoever requested the command may decide it (named: not a named principal, the shared key may; always: nobody; off).",
    tags: ['approvals'],
    tenant: true,
    body: decisionBody,
    responses: {
      202: { description: 'Recorded', schema: decisionAccepted },
      403: { description: 'The key lacks the approver role, or requested the command itself', schema: errorSchema },
      404: { description: 'No such ask in this tenant', schema: errorSchema },
      409: { description: 'Already decided or expired, or the payload changed', schema: errorSchema },
      422: { description: 'A body that does not match', schema: errorSchema },
    },
  },
  {
    method: 'get',
    path: '/approvals',
    summary: 'Asks waiting for a decision',
    tags: ['approvals'],
    tenant: true,
    query: approvalsQuery,
    responses: { 200: { description: '{"asks":[…]}, oldest first' } },
  },
];

export function approvalRoutes(deps: ApprovalRoutesDeps) {
  return new Hono<AppEnv>()
    .post('/:ask_id/decide', requireRole('approver'), async (c) => {
      const body = await readJson(c, decisionBody, deps.body);
      const answered = await answerAsk(deps, {
        tenant: c.get('tenant'),
        ask_id: c.req.param('ask_id'),
        ...body,
        caller: callerOf(c),
      });
      c.header('x-correlation-id', answered.correlation_id);
      const answer: z.input<typeof decisionAccepted> = {
        status: 'accepted',
        correlation_id: answered.correlation_id,
        ask_id: answered.ask_id,
        command_id: answered.command_id,
        decision: body.decision,
      };
      return c.json(answer, 202);
    })
    .get('/', async (c) => {
      const filters = readQuery(c, approvalsQuery);
      const { state } = await deps.hub.feed(c.get('tenant')).current();
      const asks = state.asks.filter(
        (ask) =>
          (filters.command_type === undefined || ask.command_type === filters.command_type) &&
          (filters.risk_level === undefined || ask.risk_level === filters.risk_level) &&
          (filters.requested_by === undefined || ask.requested_by === filters.requested_by),
      );
      return c.json({ asks });
    });
}
