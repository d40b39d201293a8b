import { Hono } from 'hono';
import { z } from 'zod';
import { riskLevelSchema } from '../../events/command-events.js';
import { canonicalJson, sha256 } from '../../shared/ids.js';
import { submitCommand, type SubmitDeps } from '../../usecases/submit-command.js';
import type { AppEnv } from '../app-env.js';
import { errorSchema, type RouteDoc } from '../openapi.js';
import { RequestError } from '../errors.js';
import { correlationIdSchema } from '../middleware/correlation.js';
import { type BodyLimits, readJson } from '../validation.js';
import { requireRole } from '../auth/api-key-auth.js';
import { header } from '../header.js';

export const submitCommandBody = z
  .object({
    command_type: z.string().min(1).max(100).meta({ description: 'A type of the catalog', example: 'echo.test' }),
    params: z.record(z.string(), z.unknown()).default({}).meta({ description: "Checked against the type's schema" }),
    correlation_id: correlationIdSchema.optional().meta({ description: 'Generated when absent' }),
    description: z.string().max(500).optional().meta({ description: 'Shown to approvers and in the worklog' }),
  })
  .strict();

export const acceptedBody = z.object({
  status: z.literal('accepted'),
  correlation_id: z.string(),
  command_id: z.string(),
  task_id: z.string(),
  risk_level: riskLevelSchema,
  ask_id: z.string().optional().meta({ description: 'For RED commands: the ask to decide' }),
});

const idempotencyKeySchema = z.string().regex(/^[\x21-\x7E]{1,255}$/, 'must be 1-255 visible ASCII characters');

export interface CommandRoutesDeps extends SubmitDeps {
  readonly body: BodyLimits;
}

export const commandDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/sidecar/command',
    summary: 'Submit a command',
    description:
      'Answers 202 once the command is durably recorded; the outcome arrives as reports on the SSE stream. GREEN commands run, YELLOW run with a risk_warning report, RED wait for an approval.',
    tags: ['commands'],
    tenant: true,
    headers: {
      'idempotency-key': {
        schema: idempotencyKeySchema,
        description:
          'The same key and body answer the same 202 and create nothing; the same key with another body gets 422.',
      },
    },
    body: submitCommandBody,
    responses: {
      202: { description: 'Recorded', schema: acceptedBody },
      413: { description: 'Body too large', schema: errorSchema },
      415: { description: 'Not JSON', schema: errorSchema },
      422: {
        description: 'Unknown command type, params failing its schema, or an Idempotency-Key reused',
        schema: errorSchema,
      },
    },
  },
];

export function commandRoutes(deps: CommandRoutesDeps) {
  return new Hono<AppEnv>().post('/command', requireRole('requester'), async (c) => {
    const body = await readJson(c, submitCommandBody, deps.body);
    const key = header(c, 'idempotency-key');
    if (key !== undefined && !idempotencyKeySchema.safeParse(key).success) {
      throw new RequestError(400, 'invalid_idempotency_key', 'Idempotency-Key must be 1-255 visible ASCII characters');
    }
    const correlationId = body.correlation_id ?? c.get('correlation_id');
    c.set('correlation_id', correlationId);
    c.header('x-correlation-id', correlationId);
    const submitted = await submitCommand(deps, {
      tenant: c.get('tenant'),
      command_type: body.command_type,
      params: body.params,
      ...(body.description === undefined ? {} : { description: body.description }),
      correlation_id: correlationId,
      actor: c.get('principal').id,
      ...(key === undefined ? {} : { idempotency: { key, request_hash: sha256(canonicalJson(body)) } }),
    });
    if (submitted.duplicate) {
      c.header('idempotent-replayed', 'true');
      c.header('x-correlation-id', submitted.correlation_id);
    }
    const answer: z.input<typeof acceptedBody> = {
      status: 'accepted',
      correlation_id: submitted.correlation_id,
      command_id: submitted.command_id,
      task_id: submitted.task_id,
      risk_level: submitted.risk_level,
      ...(submitted.ask_id === undefined ? {} : { ask_id: submitted.ask_id }),
    };
    return c.json(answer, 202);
  });
}
