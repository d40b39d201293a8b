import type { DomainEvent, RecordedEvent } from '../events/envelope.js';
import { ConcurrencyError, type EventStore, type ExpectedRevision } from '../store/event-store.js';
import { appendEvents, type Decided, type StreamTarget } from './append-events.js';
import { fold, type Command, type Decider } from './decider.js';

export interface HandleOptions<S> {
  readonly newEventId: () => string;
  /** State and revision the caller already knows (from a projection); re-read after a conflict. */
  readonly known?: { readonly state: S; readonly revision: ExpectedRevision };
  /** Tries in all when appends keep conflicting. */
  readonly maxTries?: number;
}

export interface Handled<S> {
  /** What this call appended; empty when the command changed nothing. */
  readonly events: readonly RecordedEvent[];
  readonly state: S;
  readonly revision: ExpectedRevision;
}

/**
 * Runs a command (or several, each decided on the state the previous left, all appended at
 * once) against one stream: load, decide, append with the expected revision. A concurrent
 * writer makes the append fail; the commands are then decided again on fresh state, up to
 * `maxTries` in all.
 *
 * @example
 *   await handleCommand(store, commandLifeDecider, { tenant, stream }, startTask, { newEventId });
 */
export async function handleCommand<C extends Command, S, E extends DomainEvent>(
  store: EventStore,
  decider: Decider<C, S, E>,
  target: StreamTarget,
  commands: C | readonly C[],
  options: HandleOptions<S>,
): Promise<Handled<S>> {
  const list: readonly C[] = Array.isArray(commands) ? commands : [commands as C];
  const maxTries = options.maxTries ?? 5;
  let known = options.known;
  for (let tries = 1; ; tries++) {
    // 1. load
    const { state, revision } = known ?? (await load(store, decider, target));
    // 2. decide
    const decided: Decided[] = [];
    let next = state;
    for (const command of list) {
      const events = decider.decide(command, next);
      if (events.length > 0) decided.push({ events, metadata: command.metadata });
      next = fold(decider.evolve, next, events);
    }
    if (decided.length === 0) return { events: [], state, revision };
    // 3. append with the expected revision
    try {
      const result = await appendEvents(store, target, decided, revision, options.newEventId);
      return { events: result.events, state: next, revision: result.revision };
    } catch (error) {
      if (!(error instanceof ConcurrencyError) || tries >= maxTries) throw error;
      known = undefined;
    }
  }
}

async function load<S, E extends DomainEvent>(
  store: EventStore,
  decider: Pick<Decider<never, S, E>, 'evolve' | 'initialState'>,
  target: StreamTarget,
): Promise<{ state: S; revision: ExpectedRevision }> {
  // A stream holds the events of one decider: its own, whatever the log's union of types says.
  const history = (await store.readStream(target.tenant, target.stream)) as unknown as RecordedEvent<E>[];
  const state = fold(decider.evolve, decider.initialState(), history);
  return { state, revision: history.length === 0 ? 'no_stream' : history[history.length - 1]!.revision };
}
