import type { RecordedEvent } from '../events/envelope.js';
import type { NexusEvent } from '../events/registry.js';

export interface WorklogEntry {
  readonly position: number;
  readonly at: string;
  readonly level: 'info' | 'warning' | 'error';
  readonly text: string;
  readonly correlation_id: string;
  /** Null for changes of the tenant itself (autopilot, memory). */
  readonly command_id: string | null;
}

type Line = Pick<WorklogEntry, 'level' | 'text'>;

function line(event: NexusEvent): Line | undefined {
  switch (event.type) {
    case 'CommandAccepted':
      return { level: 'info', text: `${event.data.command_type} accepted (${event.data.risk_level})` };
    case 'RiskWarningRaised':
      return { level: 'warning', text: event.data.message };
    case 'AskCreated':
      return {
        level: 'warning',
        text: `${event.data.command_type} is waiting for approval (${event.data.risk_level})`,
      };
    case 'AskExpiring':
      return {
        level: 'warning',
        text: `${event.data.command_type} expires at ${event.data.expires_at} without a decision`,
      };
    case 'AskApproved':
      return { level: 'info', text: `${event.data.command_type} approved by ${event.data.decided_by}` };
    case 'AskDenied':
      return { level: 'warning', text: `${event.data.command_type} denied by ${event.data.decided_by}` };
    case 'AskExpired':
      return { level: 'warning', text: `${event.data.command_type} expired without a decision` };
    case 'TaskStarted':
      return { level: 'info', text: `${event.data.command_type} started (attempt ${event.data.attempt})` };
    case 'TaskSucceeded':
      return {
        level: 'info',
        text: `${event.data.command_type} completed in ${Math.round(event.data.duration_ms)} ms`,
      };
    case 'TaskFailed':
      return {
        level: 'error',
        text: `${event.data.command_type} failed: ${event.data.error.code} ${event.data.error.message} (attempt ${event.data.attempt})`,
      };
    case 'TaskRetryScheduled':
      return {
        level: 'warning',
        text: `${event.data.command_type} will retry (attempt ${event.data.attempt}) at ${event.data.retry_at}`,
      };
    case 'TaskDeadLettered':
      return { level: 'error', text: `${event.data.command_type} dead-lettered after ${event.data.attempts} attempts` };
    case 'DeadLetterTriaged':
      return {
        level: event.data.action === 'requeue' ? 'warning' : 'error',
        text: `${event.data.command_type} triaged (${event.data.code}): ${triageText[event.data.action]}`,
      };
    case 'AlarmRaised':
      return { level: 'error', text: `ALARM ${event.data.code} on ${event.data.command_type}: ${event.data.message}` };
    case 'HeldTaskRequeued':
      return {
        level: 'info',
        text: `${event.data.command_type} requeued by ${event.data.by}${event.data.reason ? `: ${event.data.reason}` : ''}`,
      };
    case 'HeldTaskDiscarded':
      return {
        level: 'warning',
        text: `${event.data.command_type} discarded by ${event.data.by}${event.data.reason ? `: ${event.data.reason}` : ''}`,
      };
    case 'AutopilotPaused':
      return {
        level: 'warning',
        text: `autopilot paused by ${event.data.by}${event.data.reason ? `: ${event.data.reason}` : ''}`,
      };
    case 'AutopilotResumed':
      return {
        level: 'info',
        text: `autopilot resumed by ${event.data.by}${event.data.reason ? `: ${event.data.reason}` : ''}`,
      };
    case 'MemorySet':
      return { level: 'info', text: `memory ${event.data.key} set` };
    case 'MemoryDeleted':
      return { level: 'info', text: `memory ${event.data.key} deleted` };
    case 'TaskQueued':
      return undefined;
  }
}

const triageText = {
  requeue: 'requeued',
  hold: 'held for a person',
  alarm: 'alarm raised, held',
  keep: 'kept in the dead letters',
} as const;

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
    command_id: 'command_id' in event.data ? event.data.command_id : null,
  };
}

interface Cell {
  readonly entry: WorklogEntry;
  readonly older: Cell | undefined;
}

/**
 * The latest entries, newest first, as an immutable list: adding one shares everything
 * before it, so a state per event (and every checkpoint of them) costs one cell, not a copy
 * of the whole worklog. The list is cut back to `keep` entries each time it reaches twice that.
 */
export interface Worklog {
  readonly newest: Cell | undefined;
  readonly length: number;
}

export const emptyWorklog: Worklog = { newest: undefined, length: 0 };

export function addToWorklog(log: Worklog, entry: WorklogEntry, keep: number): Worklog {
  const added = { newest: { entry, older: log.newest }, length: log.length + 1 };
  return added.length < 2 * keep ? added : listOf(worklogEntries(added, keep));
}

/** The latest `keep` entries, oldest first. */
export function worklogEntries(log: Worklog, keep: number): WorklogEntry[] {
  const entries: WorklogEntry[] = [];
  for (let cell = log.newest; cell && entries.length < keep; cell = cell.older) entries.push(cell.entry);
  return entries.reverse();
}

function listOf(oldestFirst: readonly WorklogEntry[]): Worklog {
  let newest: Cell | undefined;
  for (const entry of oldestFirst) newest = { entry, older: newest };
  return { newest, length: oldestFirst.length };
}
