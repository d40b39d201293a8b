import { z } from 'zod';
import { defineEvent, type EventOf } from './define-event.js';

export const riskLevelSchema = z.enum(['GREEN', 'YELLOW', 'RED']);
export type RiskLevel = z.infer<typeof riskLevelSchema>;

export const failureSchema = z.object({
  /** A stable code that drives retries and triage, e.g. `TASK_TIMEOUT`, `WORKER_LOST`. */
  code: z.string(),
  message: z.string(),
});
export type Failure = z.infer<typeof failureSchema>;

/** Every event of a command's life names it, so reports and views need no lookup. */
const ids = { command_id: z.string(), task_id: z.string(), command_type: z.string() };
const paramsSchema = z.record(z.string(), z.unknown());

export const commandAccepted = defineEvent(
  'CommandAccepted',
  1,
  z.object({
    ...ids,
    params: paramsSchema,
    risk_level: riskLevelSchema,
    description: z.string(),
    requested_by: z.string(),
    /** With an idempotency key: sha-256 of the canonical request, what the key is bound to. */
    request_hash: z.string().optional(),
    idempotency_key: z.string().optional(),
  }),
);

export const riskWarningRaised = defineEvent(
  'RiskWarningRaised',
  1,
  z.object({ ...ids, risk_level: riskLevelSchema, message: z.string() }),
);

export const taskQueued = defineEvent(
  'TaskQueued',
  1,
  z.object({ ...ids, attempt: z.number().int().positive() }),
);

export const askCreated = defineEvent(
  'AskCreated',
  1,
  z.object({
    ...ids,
    ask_id: z.string(),
    risk_level: riskLevelSchema,
    description: z.string(),
    params: paramsSchema,
    /** sha-256 of the canonical `{command_type, params}`: an approval is bound to it. */
    payload_hash: z.string(),
    requested_by: z.string(),
    expires_at: z.string(),
    options: z.array(z.enum(['approve', 'deny'])),
  }),
);

export const askExpired = defineEvent(
  'AskExpired',
  1,
  z.object({ ...ids, ask_id: z.string(), expires_at: z.string() }),
);

export const taskStarted = defineEvent(
  'TaskStarted',
  1,
  z.object({ ...ids, attempt: z.number().int().positive(), executor_id: z.string() }),
);

export const taskSucceeded = defineEvent(
  'TaskSucceeded',
  1,
  z.object({
    ...ids,
    attempt: z.number().int().positive(),
    result: z.unknown(),
    duration_ms: z.number().nonnegative(),
  }),
);

export const taskFailed = defineEvent(
  'TaskFailed',
  1,
  z.object({
    ...ids,
    attempt: z.number().int().positive(),
    error: failureSchema,
    retryable: z.boolean(),
    duration_ms: z.number().nonnegative().optional(),
  }),
);

export const taskRetryScheduled = defineEvent(
  'TaskRetryScheduled',
  1,
  z.object({
    ...ids,
    /** The attempt that will run next. */
    attempt: z.number().int().positive(),
    retry_at: z.string(),
    delay_ms: z.number().int().nonnegative(),
  }),
);

export const taskDeadLettered = defineEvent(
  'TaskDeadLettered',
  1,
  z.object({ ...ids, attempts: z.number().int().positive(), error: failureSchema }),
);

export type CommandAccepted = EventOf<typeof commandAccepted>;
export type RiskWarningRaised = EventOf<typeof riskWarningRaised>;
export type TaskQueued = EventOf<typeof taskQueued>;
export type AskCreated = EventOf<typeof askCreated>;
export type AskExpired = EventOf<typeof askExpired>;
export type TaskStarted = EventOf<typeof taskStarted>;
export type TaskSucceeded = EventOf<typeof taskSucceeded>;
export type TaskFailed = EventOf<typeof taskFailed>;
export type TaskRetryScheduled = EventOf<typeof taskRetryScheduled>;
export type TaskDeadLettered = EventOf<typeof taskDeadLettered>;

/** Everything that can happen in a command's life, in its stream `command-<command_id>`. */
export type CommandLifeEvent =
  | CommandAccepted
  | RiskWarningRaised
  | TaskQueued
  | AskCreated
  | AskExpired
  | TaskStarted
  | TaskSucceeded
  | TaskFailed
  | TaskRetryScheduled
  | TaskDeadLettered;

export const commandLifeEvents = [
  commandAccepted,
  riskWarningRaised,
  taskQueued,
  askCreated,
  askExpired,
  taskStarted,
  taskSucceeded,
  taskFailed,
  taskRetryScheduled,
  taskDeadLettered,
] as const;

export const commandStream = (commandId: string): string => `command-${commandId}`;
