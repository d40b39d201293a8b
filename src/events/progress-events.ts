import { z } from 'zod';
import { defineEvent, type EventOf } from './define-event.js';
import { ids } from './shared-schemas.js';

// A running task's own word on how far it got. In a stream of its own per command
// (`progress-<command_id>`), so reporting progress never races the task's outcome.

export const taskProgressed = defineEvent(
  'TaskProgressed',
  1,
  z.object({
    ...ids,
    attempt: z.number().int().positive(),
    /** 0 to 100, when the handler can tell. */
    percent: z.number().min(0).max(100).optional(),
    message: z.string().max(2000).optional(),
  }),
);

export type TaskProgressed = EventOf<typeof taskProgressed>;
export const progressEvents = [taskProgressed] as const;
export const progressStream = (commandId: string): string => `progress-${commandId}`;
