import type { DeadLetterTriaged, TaskDeadLettered } from '../events/command-events.js';
import type { RecordedEvent } from '../events/envelope.js';
import type { NexusEvent } from '../events/registry.js';

/** A dead-lettered task as triage left it: held for a person, or kept without a rule. */
export interface DeadLetter {
  readonly command_id: string;
  readonly task_id: string;
  readonly command_type: string;
  readonly correlation_id: string;
  readonly attempts: number;
  readonly error: TaskDeadLettered['data']['error'];
  /** `pending` until triage ran. */
  readonly triage: DeadLetterTriaged['data']['action'] | 'pending';
  readonly dead_lettered_at: string;
}

/** The event types this view is folded from: read the log filtered to them. */
export const deadLetterEventTypes = ['TaskDeadLettered', 'DeadLetterTriaged', 'HeldTaskRequeued', 'HeldTaskDiscarded', 'TaskQueued'];

/**
 * The tenant's dead letters that are still dead: requeued ones (by triage or an admin) leave
 * when they are queued again, discarded ones when discarded.
 */
export function foldDeadLetters(events: Iterable<RecordedEvent>): DeadLetter[] {
  const letters = new Map<string, DeadLetter>();
  for (const recorded of events) {
    const event = recorded as RecordedEvent<NexusEvent>;
    switch (event.type) {
      case 'TaskDeadLettered': {
        const { command_id, task_id, command_type, attempts, error } = event.data;
        letters.set(command_id, {
          command_id,
          task_id,
          command_type,
          correlation_id: event.metadata.correlation_id,
          attempts,
          error,
          triage: 'pending',
          dead_lettered_at: event.metadata.occurred_at,
        });
        break;
      }
      case 'DeadLetterTriaged': {
        const letter = letters.get(event.data.command_id);
        if (letter) letters.set(letter.command_id, { ...letter, triage: event.data.action });
        break;
      }
      case 'TaskQueued':
      case 'HeldTaskDiscarded':
        letters.delete(event.data.command_id);
        break;
      default:
        break;
    }
  }
  return [...letters.values()];
}

export const isHeld = (letter: DeadLetter): boolean => letter.triage === 'hold' || letter.triage === 'alarm';
