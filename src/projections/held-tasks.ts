import type { DeadLetterTriaged, TaskDeadLettered } from '../events/command-events.js';
import type { RecordedEvent } from '../events/envelope.js';

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

/** Dead letters listed at most by default (DEAD_LETTERS_KEEP). */
export const DEAD_LETTERS_KEEP = 500;

/**
 * The tenant's dead letters after one more event: requeued ones (by triage or an admin) leave
 * when they are queued again or asked about again, discarded ones when discarded. At most
 * `keep` are listed, newest last: past it the oldest kept one leaves first, then the oldest
 * held one (each stays in the log, and can still be requeued or discarded by its command id).
 */
export function evolveDeadLetters(
  letters: readonly DeadLetter[],
  recorded: RecordedEvent,
  keep = DEAD_LETTERS_KEEP,
): readonly DeadLetter[] {
  const event = recorded;
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
      return within([...letters.filter((l) => l.command_id !== command_id), letter], keep);
    }
    case 'DeadLetterTriaged': {
      const { command_id, action } = event.data;
      return letters.some((l) => l.command_id === command_id)
        ? letters.map((l) => (l.command_id === command_id ? { ...l, triage: action } : l))
        : letters;
    }
    case 'TaskQueued':
    case 'AskCreated':
    case 'HeldTaskDiscarded': {
      const { command_id } = event.data;
      return letters.some((l) => l.command_id === command_id)
        ? letters.filter((l) => l.command_id !== command_id)
        : letters;
    }
    default:
      return letters;
  }
}

function within(letters: readonly DeadLetter[], keep: number): readonly DeadLetter[] {
  if (letters.length <= keep) return letters;
  const oldestKept = letters.findIndex((letter) => !isHeld(letter) && letter.triage !== 'pending');
  const drop = oldestKept === -1 ? 0 : oldestKept;
  return letters.filter((_, i) => i !== drop);
}

export const isHeld = (letter: DeadLetter): boolean => letter.triage === 'hold' || letter.triage === 'alarm';
