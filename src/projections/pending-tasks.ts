import type { RecordedEvent } from '../events/envelope.js';
import type { NexusEvent } from '../events/registry.js';
import { tenantKey, type Tenant } from '../events/tenant.js';

/** Enough to find a task in the log and run it; the log itself says what to run. */
export interface TaskRef {
  readonly tenant: Tenant;
  readonly command_id: string;
  readonly task_id: string;
  readonly attempt: number;
  readonly correlation_id: string;
}

/** How an event changes what there is to dispatch. */
export type TaskChange =
  | { readonly kind: 'ready'; readonly key: string; readonly ref: TaskRef; readonly due_at: number }
  | { readonly kind: 'running'; readonly key: string; readonly ref: TaskRef }
  | { readonly kind: 'finished'; readonly key: string };

export const taskKey = (tenant: Tenant, commandId: string): string => `${tenantKey(tenant)}|${commandId}`;

/**
 * The dispatch projection, as a pure mapping: queued and retry-scheduled tasks are ready
 * (from their due time), started ones are running, succeeded and dead-lettered ones are done.
 */
export function taskChange(recorded: RecordedEvent): TaskChange | undefined {
  const event = recorded as RecordedEvent<NexusEvent>;
  if (!('task_id' in event.data)) return undefined;
  const key = taskKey(event.tenant, event.data.command_id);
  const ref = (attempt: number): TaskRef => ({
    tenant: event.tenant,
    command_id: event.data.command_id,
    task_id: event.data.task_id,
    attempt,
    correlation_id: event.metadata.correlation_id,
  });
  switch (event.type) {
    case 'TaskQueued':
      return { kind: 'ready', key, ref: ref(event.data.attempt), due_at: Date.parse(event.metadata.occurred_at) };
    case 'TaskRetryScheduled':
      return { kind: 'ready', key, ref: ref(event.data.attempt), due_at: Date.parse(event.data.retry_at) };
    case 'TaskStarted':
      return { kind: 'running', key, ref: ref(event.data.attempt) };
    case 'TaskSucceeded':
    case 'TaskDeadLettered':
      return { kind: 'finished', key };
    default:
      return undefined;
  }
}
