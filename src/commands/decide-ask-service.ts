import { commandStream } from '../events/command-events.js';
import type { Tenant } from '../events/tenant.js';
import type { EventStore } from '../store/event-store.js';
import { commandIdOfAsk } from './ask-ids.js';
import { commandLifeDecider, type DecideAsk } from './command-life.js';
import { AskNotFoundError } from './errors.js';
import { fold } from './decider.js';
import { handleCommand } from './handle-command.js';

export interface Decided {
  readonly ask_id: string;
  readonly command_id: string;
  /** The command's own correlation id: the decision and what follows report under it. */
  readonly correlation_id: string;
  readonly position: number;
}

/**
 * Records a decision on an ask, in the stream of the ask's command, under that command's
 * correlation id. Two decisions made at once append at the same revision: one wins, the other
 * is decided again on the new state and refused as already decided.
 */
export async function decideAsk(
  store: EventStore,
  tenant: Tenant,
  command: Omit<DecideAsk, 'metadata'> & { metadata: Omit<DecideAsk['metadata'], 'correlation_id'> },
  newEventId: () => string,
): Promise<Decided> {
  const { ask_id } = command.data;
  const commandId = commandIdOfAsk(ask_id);
  if (commandId === undefined) throw new AskNotFoundError(`no ask ${ask_id}`);
  const target = { tenant, stream: commandStream(commandId) };
  // 1. load: the command's history gives its correlation id
  const history = await store.readStream(tenant, target.stream);
  const first = history[0];
  if (!first) throw new AskNotFoundError(`no ask ${ask_id}`);
  const state = fold(commandLifeDecider.evolve, commandLifeDecider.initialState(), history as never[]);
  // 2. decide and 3. append
  const decided = await handleCommand(
    store,
    commandLifeDecider,
    target,
    { ...command, metadata: { ...command.metadata, correlation_id: first.metadata.correlation_id } },
    { newEventId, known: { state, revision: history[history.length - 1]!.revision } },
  );
  return { ask_id, command_id: commandId, correlation_id: first.metadata.correlation_id, position: decided.events[0]!.position };
}
