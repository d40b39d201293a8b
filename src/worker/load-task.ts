import { evolve, initialState } from '../commands/command-life.js';
import { commandStream, type CommandLifeEvent } from '../events/command-events.js';
import type { RecordedEvent } from '../events/envelope.js';
import type { Tenant } from '../events/tenant.js';
import type { PendingTask } from '../projections/pending-tasks.js';
import type { EventStore } from '../store/event-store.js';

/** A command's life as its stream in the log tells it now, for a worker about to act on it. */
export async function loadTask(store: EventStore, tenant: Tenant, commandId: string, correlationId: string): Promise<PendingTask> {
  const events = (await store.readStream(tenant, commandStream(commandId))) as RecordedEvent<CommandLifeEvent>[];
  const state = events.reduce((current, event) => evolve(current, event), initialState());
  const last = events[events.length - 1];
  return {
    tenant,
    command_id: commandId,
    correlation_id: last?.metadata.correlation_id ?? correlationId,
    state,
    revision: last?.revision ?? -1,
  };
}
