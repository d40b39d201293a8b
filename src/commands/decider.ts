import type { DomainEvent } from '../events/envelope.js';

/** What every command carries besides its data. Time and ids are decided at the edge. */
export interface CommandMetadata {
  readonly now: Date;
  readonly correlation_id: string;
  /** Principal on whose behalf the command runs. */
  readonly actor: string;
  readonly causation_id?: string;
}

export interface Command<Type extends string = string, Data = unknown> {
  readonly type: Type;
  readonly data: Data;
  readonly metadata: CommandMetadata;
}

/**
 * A pure aggregate: `decide` turns a command and the current state into new events (or
 * throws a domain error), `evolve` folds one event into the state.
 */
export interface Decider<C extends Command, S, E extends DomainEvent> {
  decide(command: C, state: S): E[];
  evolve(state: S, event: E): S;
  initialState(): S;
}

export function fold<S, E>(evolve: (state: S, event: E) => S, initial: S, events: readonly E[]): S {
  return events.reduce(evolve, initial);
}
