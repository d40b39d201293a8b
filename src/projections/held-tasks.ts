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

/**
 * The tenant's dead letters after one more event: requeued ones (by triage or an admin) leave
 * when they are queued again, discarded ones when discarded.
 */
export function evolveDeadLetters(letters: readonly DeadLetter[], recorded: RecordedEvent): readonly DeadLetter[] {
  const event = recorded as RecordedEvent<NexusEvent>;
  switch (event.type) {
    case 'TaskDeadLettered': {
      const { command_id, task_id, command_type, attempts, error } = event.data;
      const letter: DeadLetter = {
        command_id,
        task_id,
        command_type,
        correlation_id: event.metadata.correlation_id,
        attempts,
        error,
        triage: 'pending',
        dead_lettered_at: event.metadata.occurred_at,
      };
      return [...letters.filter((l) => l.command_id !== command_id), letter];
    }
    case 'DeadLetterTriaged': {
      const { command_id, action } = event.data;
      return letters.some((l) => l.command_id === command_id) ? letters.map((l) => (l.command_id === command_id ? { ...l, triage: action } : l)) : letters;
    }
    case 'TaskQueued':
    case 'HeldTaskDiscarded': {
      const { command_id } = event.data;
      return letters.some((l) => l.command_id === command_id) ? letters.filter((l) => l.command_id !== command_id) : letters;
    }
    default:
      return letters;
  }
}

export const isHeld = (letter: DeadLetter): boolean => letter.triage === 'hold' || letter.triage === 'alarm';
