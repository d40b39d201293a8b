import { expect } from 'vitest';
import type { Command, Decider } from '../../src/commands/decider.js';
import type { DomainEvent } from '../../src/events/envelope.js';

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Given/when/then for deciders:
 *   spec.given([accepted]).when(startTask).then([started]);
 *   spec.given([]).when(startTask).thenThrows(CommandNotFoundError);
 *   spec.given([approved]).when(decideAgain).thenThrows(AskAlreadyDecidedError, { outcome: 'approved' });
 *   spec.given([accepted, started]).when(sameStart).thenNothingHappened();
 */
export function deciderSpec<C extends Command, S, E extends DomainEvent>(decider: Decider<C, S, E>) {
  return {
    given(events: readonly E[]) {
      const state = events.reduce(decider.evolve, decider.initialState());
      return {
        when(command: C) {
          const run = () => decider.decide(command, state);
          return {
            then(expected: readonly E[]) {
              expect(run()).toEqual(expected);
            },
            /** The error's class, and with `fields` what it carries besides its message. */
            thenThrows(errorClass: ErrorClass, fields?: Record<string, unknown>) {
              expect(run).toThrow(errorClass);
              if (fields !== undefined) expect(run).toThrow(expect.objectContaining(fields));
            },
            thenNothingHappened() {
              expect(run()).toEqual([]);
            },
            /** For assertions on events with computed fields. */
            events: run,
          };
        },
      };
    },
  };
}
