import { z } from 'zod';
import { defineEvent, type EventOf } from './define-event.js';
import { ids, paramsSchema, riskLevelSchema } from './shared-schemas.js';

// An ask: a RED command waiting for a person. It is created with the command, may be warned
// about shortly before it expires, and ends approved, denied or expired.

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
    /** When an `AskExpiring` warning is due. */
    warn_at: z.string().optional(),
    options: z.array(z.enum(['approve', 'deny'])),
  }),
);

export const askExpiring = defineEvent(
  'AskExpiring',
  1,
  z.object({ ...ids, ask_id: z.string(), expires_at: z.string() }),
);

const decision = {
  ask_id: z.string(),
  /** The principal who decided, as authentication established it. */
  decided_by: z.string(),
  reason: z.string().optional(),
  /** APPROVAL_FOUR_EYES as it held for this decision (absent in decisions recorded before it existed). */
  four_eyes: z.enum(['named', 'always', 'off']).optional(),
};

export const askApproved = defineEvent(
  'AskApproved',
  1,
  z.object({
    ...ids,
    ...decision,
    /** The payload the approval is bound to: the task runs only with exactly this payload. */
    payload_hash: z.string(),
    /** A requeue after this asks again (ASK_TTL_SECONDS after the approval); absent: any requeue asks again. */
    valid_until: z.string().optional(),
  }),
);

export const askDenied = defineEvent('AskDenied', 1, z.object({ ...ids, ...decision }));

export const askExpired = defineEvent(
  'AskExpired',
  1,
  z.object({ ...ids, ask_id: z.string(), expires_at: z.string() }),
);

export type AskCreated = EventOf<typeof askCreated>;
export type AskExpiring = EventOf<typeof askExpiring>;
export type AskApproved = EventOf<typeof askApproved>;
export type AskDenied = EventOf<typeof askDenied>;
export type AskExpired = EventOf<typeof askExpired>;
export type AskEvent = AskCreated | AskExpiring | AskApproved | AskDenied | AskExpired;
