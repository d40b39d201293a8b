import { readCommandLife } from '../commands/read-command-life.js';
import type { Tenant } from '../events/tenant.js';
import type { PendingTask } from '../projections/pending-tasks.js';
import type { EventStore } from '../store/event-store.js';

/** A command's life as its stream in the log tells it now, for a worker about to act on it. */
export async function loadTask(
  store: EventStore,
  tenant: Tenant,
  commandId: string,
  correlationId: string,
): Promise<PendingTask> {
  const life = await readCommandLife(store, tenant, commandId);
  return {
    tenant,
    command_id: commandId,
    correlation_id: life.correlation_id ?? correlationId,
    state: life.state,
    revision: life.revision === 'no_stream' ? -1 : life.revision,
  };
}
