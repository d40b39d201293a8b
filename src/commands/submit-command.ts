import type { RecordedEvent } from '../events/envelope.js';
import { commandStream, type AskCreated, type CommandAccepted, type RiskLevel } from '../events/command-events.js';
import type { Tenant } from '../events/tenant.js';
import type { EventStore } from '../store/event-store.js';
import { commandLifeDecider, type SubmitCommand } from './command-life.js';
import { handleCommand } from './handle-command.js';

export interface Submitted {
  readonly command_id: string;
  readonly task_id: string;
  readonly correlation_id: string;
  readonly risk_level: RiskLevel;
  readonly ask_id?: string;
  /** True when an Idempotency-Key replay found the command already recorded. */
  readonly duplicate: boolean;
  /** Position of the command's first event. */
  readonly position: number;
}

/**
 * Records a new command: `CommandAccepted` and then `TaskQueued` or `AskCreated`, in one
 * durable append. With an idempotency key the command id is derived from it, so replays of
 * the same request land on the same stream and change nothing.
 */
export async function submitCommand(
  store: EventStore,
  tenant: Tenant,
  command: SubmitCommand,
  newEventId: () => string,
): Promise<Submitted> {
  const target = { tenant, stream: commandStream(command.data.command_id) };
  // A new stream is the common case: try it without reading first.
  const handled = await handleCommand(store, commandLifeDecider, target, command, {
    newEventId,
    known: { state: commandLifeDecider.initialState(), revision: 'no_stream' },
  });
  const duplicate = handled.events.length === 0;
  const events = duplicate ? await store.readStream(tenant, target.stream) : handled.events;
  const accepted = events.find((e) => e.type === 'CommandAccepted') as RecordedEvent<CommandAccepted>;
  const ask = events.find((e) => e.type === 'AskCreated') as RecordedEvent<AskCreated> | undefined;
  return {
    command_id: accepted.data.command_id,
    task_id: accepted.data.task_id,
    correlation_id: accepted.metadata.correlation_id,
    risk_level: accepted.data.risk_level,
    ...(ask === undefined ? {} : { ask_id: ask.data.ask_id }),
    duplicate,
    position: accepted.position,
  };
}
