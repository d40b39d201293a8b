import { z } from 'zod';
import { askCreated, askDenied, askApproved, askExpired, askExpiring, type AskEvent } from './ask-events.js';
import {
  alarmRaised,
  deadLetterTriaged,
  heldTaskDiscarded,
  heldTaskRequeued,
  type TriageEvent,
} from './triage-events.js';
import { defineEvent, type EventOf } from './define-event.js';
import { failureSchema, ids, paramsSchema, riskLevelSchema } from './shared-schemas.js';

export { failureSchema, riskLevelSchema, type Failure, type RiskLevel } from './shared-schemas.js';
export type { AskApproved, AskCreated, AskDenied, AskExpired, AskExpiring } from './ask-events.js';
export type {
  AlarmRaised,
  DeadLetterTriaged,
  HeldTaskDiscarded,
  HeldTaskRequeued,
  TriageAction,
} from './triage-events.js';

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

export const taskQueued = defineEvent('TaskQueued', 1, z.object({ ...ids, attempt: z.number().int().positive() }));

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
  | AskEvent
  | TaskStarted
  | TaskSucceeded
  | TaskFailed
  | TaskRetryScheduled
  | TaskDeadLettered
  | TriageEvent;

export const commandLifeEvents = [
  commandAccepted,
  riskWarningRaised,
  taskQueued,
  askCreated,
  askExpiring,
  askApproved,
  askDenied,
  askExpired,
  taskStarted,
  taskSucceeded,
  taskFailed,
  taskRetryScheduled,
  taskDeadLettered,
  deadLetterTriaged,
  alarmRaised,
  heldTaskRequeued,
  heldTaskDiscarded,
] as const;

export const commandStream = (commandId: string): string => `command-${commandId}`;

const commandLifeTypes = new Set<string>(commandLifeEvents.map((definition) => definition.type));

/** Whether an event belongs to a command's life (the events of its stream). */
export const isCommandLifeEvent = <E extends { readonly type: string }>(
  event: E,
): event is Extract<E, CommandLifeEvent> => commandLifeTypes.has(event.type);
