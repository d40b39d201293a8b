import type { RecordedEvent } from '../events/envelope.js';
import type { NexusEvent } from '../events/registry.js';

export interface WorklogEntry {
  readonly position: number;
  readonly at: string;
  readonly level: 'info' | 'warning' | 'error';
  readonly text: string;
  readonly correlation_id: string;
  readonly command_id: string;
}

type Line = Pick<WorklogEntry, 'level' | 'text'>;

function line(event: NexusEvent): Line | undefined {
  switch (event.type) {
    case 'CommandAccepted':
      return { level: 'info', text: `${event.data.command_type} accepted (${event.data.risk_level})` };
    case 'RiskWarningRaised':
      return { level: 'warning', text: event.data.message };
    case 'AskCreated':
      return { level: 'warning', text: `${event.data.command_type} is waiting for approval (${event.data.risk_level})` };
    case 'TaskStarted':
      return { level: 'info', text: `${event.data.command_type} started (attempt ${event.data.attempt})` };
    case 'TaskSucceeded':
      return { level: 'info', text: `${event.data.command_type} completed in ${Math.round(event.data.duration_ms)} ms` };
    case 'TaskFailed':
      return {
        level: 'error',
        text: `${event.data.command_type} failed: ${event.data.error.code} ${event.data.error.message} (attempt ${event.data.attempt})`,
      };
    case 'TaskRetryScheduled':
      return { level: 'warning', text: `${event.data.command_type} will retry (attempt ${event.data.attempt}) at ${event.data.retry_at}` };
    case 'TaskDeadLettered':
      return { level: 'error', text: `${event.data.command_type} dead-lettered after ${event.data.attempts} attempts` };
    case 'TaskQueued':
      return undefined;
  }
}

/** The human-readable line an event adds to the worklog, if any. */
export function worklogEntry(event: RecordedEvent<NexusEvent>): WorklogEntry | undefined {
  const described = line(event);
  if (!described) return undefined;
  return {
    position: event.position,
    at: event.metadata.occurred_at,
    level: described.level,
    text: described.text,
    correlation_id: event.metadata.correlation_id,
    command_id: event.data.command_id,
  };
}
