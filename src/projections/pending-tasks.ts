import { evolve, initialState, type CommandLifeState } from '../commands/command-life.js';
import type { CommandLife } from '../commands/read-command-life.js';
import { isCommandLifeEvent } from '../events/command-events.js';
import type { RecordedEvent } from '../events/envelope.js';
import { tenantKey, type Tenant } from '../events/tenant.js';

/**
 * A command's life as the dispatcher has seen it in the log, and the revision it is at. Its
 * params are left out (`{}`): what is due is told by ids and status, and whoever acts on the
 * task reads the command from the log, so the dispatcher's memory does not grow with payloads.
 */
export interface PendingTask {
  readonly tenant: Tenant;
  readonly command_id: string;
  readonly correlation_id: string;
  readonly state: CommandLifeState;
  readonly revision: number;
}

/** How an event changes what there is to dispatch. */
export type TaskChange =
  | { readonly kind: 'ready'; readonly key: string; readonly task: PendingTask; readonly due_at: number }
  | { readonly kind: 'running' | 'waiting'; readonly key: string; readonly task: PendingTask }
  | { readonly kind: 'finished'; readonly key: string }
  /** An event of a command the dispatcher no longer holds (it had finished): read it again from the log. */
  | { readonly kind: 'unknown'; readonly key: string; readonly tenant: Tenant; readonly command_id: string };

const NO_PARAMS: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

export const taskKey = (tenant: Tenant, commandId: string): string => `${tenantKey(tenant)}|${commandId}`;

/** The state without the command's params (they enter with `CommandAccepted` only). */
function withoutParams(state: CommandLifeState): CommandLifeState {
  if (state.status === 'absent' || state.command.params === NO_PARAMS) return state;
  return Object.assign({}, state, { command: Object.assign({}, state.command, { params: NO_PARAMS }) });
}

/**
 * The dispatch projection: each command's stream folded with the command-life decider's own
 * `evolve`, read as what to do next. Queued and retry-scheduled tasks are ready to run (from
 * their due time), asks are due to be warned about (at `warn_at`) and then to expire (at
 * `expires_at`), started tasks are running; succeeded, dead-lettered, denied and expired ones
 * are finished. Events at or below the revision already seen change nothing.
 */
export function taskChange(previous: PendingTask | undefined, event: RecordedEvent): TaskChange | undefined {
  if (!isCommandLifeEvent(event)) return undefined;
  if (previous && event.revision <= previous.revision) return undefined;
  const key = taskKey(event.tenant, event.data.command_id);
  if (!previous && event.type !== 'CommandAccepted')
    return { kind: 'unknown', key, tenant: event.tenant, command_id: event.data.command_id };
  const state = withoutParams(evolve(previous?.state ?? initialState(), event));
  return changeOf(
    {
      tenant: event.tenant,
      command_id: event.data.command_id,
      correlation_id: event.metadata.correlation_id,
      state,
      revision: event.revision,
    },
    event,
  );
}

/** The change a command's whole stream, read again from the log, comes to. */
export function replayedChange(life: CommandLife): TaskChange | undefined {
  const last = life.events.at(-1);
  if (!last) return undefined;
  return changeOf(
    {
      tenant: life.tenant,
      command_id: life.command_id,
      correlation_id: last.metadata.correlation_id,
      state: withoutParams(life.state),
      revision: last.revision,
    },
    last,
  );
}

function changeOf(task: PendingTask, last: RecordedEvent): TaskChange {
  const key = taskKey(task.tenant, task.command_id);
  const { state } = task;
  switch (state.status) {
    case 'queued':
      return { kind: 'ready', key, task, due_at: Date.parse(last.metadata.occurred_at) };
    case 'retry_scheduled':
      return { kind: 'ready', key, task, due_at: Date.parse(state.retry_at) };
    case 'awaiting_approval': {
      const { ask } = state;
      const due = !ask.warned && ask.warn_at !== undefined ? ask.warn_at : ask.expires_at;
      return { kind: 'ready', key, task, due_at: Date.parse(due) };
    }
    case 'running':
      return { kind: 'running', key, task };
    case 'dead_lettered':
      // due for triage once; a held task waits (as `waiting`) for an admin's requeue
      if (state.triage === 'pending')
        return { kind: 'ready', key, task, due_at: Date.parse(last.metadata.occurred_at) };
      return state.triage === 'held' || state.triage === 'requeued'
        ? { kind: 'waiting', key, task }
        : { kind: 'finished', key };
    case 'succeeded':
    case 'denied':
    case 'expired':
      return { kind: 'finished', key };
    default:
      return { kind: 'waiting', key, task };
  }
}
