import { z } from 'zod';
import { defineEvent, type EventOf } from './define-event.js';
import { ids } from './shared-schemas.js';

// After a task is dead-lettered, triage decides by its failure code: requeue it (a bounded
// number of times), hold it for a person, or raise an alarm (and hold it). A held task waits
// for an admin to requeue or discard it.

export const triageActionSchema = z.enum(['requeue', 'hold', 'alarm', 'keep']);
export type TriageAction = z.infer<typeof triageActionSchema>;

export const deadLetterTriaged = defineEvent(
  'DeadLetterTriaged',
  1,
  z.object({
    ...ids,
    action: triageActionSchema,
    /** The failure code the action was chosen by. */
    code: z.string(),
    /** Automatic requeues of this command so far, this one included. */
    requeues: z.number().int().nonnegative(),
  }),
);

export const alarmRaised = defineEvent('AlarmRaised', 1, z.object({ ...ids, code: z.string(), message: z.string() }));

const by = { by: z.string(), reason: z.string().optional() };

export const heldTaskRequeued = defineEvent('HeldTaskRequeued', 1, z.object({ ...ids, ...by }));
export const heldTaskDiscarded = defineEvent('HeldTaskDiscarded', 1, z.object({ ...ids, ...by }));

export type DeadLetterTriaged = EventOf<typeof deadLetterTriaged>;
export type AlarmRaised = EventOf<typeof alarmRaised>;
export type HeldTaskRequeued = EventOf<typeof heldTaskRequeued>;
export type HeldTaskDiscarded = EventOf<typeof heldTaskDiscarded>;
export type TriageEvent = DeadLetterTriaged | AlarmRaised | HeldTaskRequeued | HeldTaskDiscarded;
