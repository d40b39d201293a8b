import { commandStream, isCommandLifeEvent, type CommandLifeEvent } from '../events/command-events.js';
import type { RecordedEvent } from '../events/envelope.js';
import type { Tenant } from '../events/tenant.js';
import type { EventStore } from '../store/event-store.js';
import { evolve, initialState, type CommandLifeState } from './command-life.js';
import { fold } from './decider.js';

/** A command's life as its stream in the log tells it now. */
export interface CommandLife {
  readonly tenant: Tenant;
  readonly command_id: string;
  readonly events: readonly RecordedEvent<CommandLifeEvent>[];
  readonly state: CommandLifeState;
  /** The revision of its last event, for the next append: `no_stream` for a command never recorded. */
  readonly revision: number | 'no_stream';
  /** The command's own correlation id, which every event of it carries; absent when never recorded. */
  readonly correlation_id?: string;
}

/**
 * Reads a command's stream and folds it with the command-life `evolve`.
 *
 * @example
 *   const life = await readCommandLife(store, tenant, commandId);
 *   if (life.state.status === 'absent') throw new CommandNotFoundError(`no command ${commandId}`);
 */
export async function readCommandLife(store: EventStore, tenant: Tenant, commandId: string): Promise<CommandLife> {
  const events = (await store.readStream(tenant, commandStream(commandId))).filter(isCommandLifeEvent);
  const first = events[0];
  return {
    tenant,
    command_id: commandId,
    events,
    state: fold(evolve, initialState(), events),
    revision: events.at(-1)?.revision ?? 'no_stream',
    ...(first === undefined ? {} : { correlation_id: first.metadata.correlation_id }),
  };
}
