import { typedEvent, type RecordedEvent } from '../events/envelope.js';
import type { NexusEvent } from '../events/registry.js';
import type { Tenant } from '../events/tenant.js';

/** One entry of the report feed: what the SSE stream and `GET /agent/reports` carry. */
export interface Report {
  readonly report_id: string;
  readonly report_type: string;
  /** Position of the event the report was made from: the SSE `id:`. */
  readonly position: number;
  readonly correlation_id: string;
  readonly command_id: string | null;
  readonly task_id: string | null;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly timestamp: string;
}

const reportTypes: Record<NexusEvent['type'], string> = {
  CommandAccepted: 'command_accepted',
  RiskWarningRaised: 'risk_warning',
  TaskQueued: 'task_queued',
  AskCreated: 'ask_created',
  AskExpiring: 'ask_expiring',
  AskApproved: 'ask_resolved',
  AskDenied: 'ask_resolved',
  AskExpired: 'ask_resolved',
  TaskStarted: 'task_started',
  TaskSucceeded: 'task_completed',
  TaskFailed: 'task_failed',
  TaskRetryScheduled: 'task_retrying',
  TaskDeadLettered: 'task_dead_lettered',
  DeadLetterTriaged: 'dlq_triaged',
  AlarmRaised: 'alarm_raised',
  HeldTaskRequeued: 'task_requeued',
  HeldTaskDiscarded: 'task_discarded',
  AutopilotPaused: 'autopilot_changed',
  AutopilotResumed: 'autopilot_changed',
  MemorySet: 'memory_changed',
  MemoryDeleted: 'memory_changed',
  WorkerJoined: 'executor_joined',
  WorkerLeft: 'executor_left',
  TaskProgressed: 'task_progress',
  LlmBudgetReserved: 'llm_budget_reserved',
  LlmCallRecorded: 'llm_call',
  LlmBreakerChanged: 'llm_breaker_changed',
};

/** Fields some reports carry besides the event's data. */
const extra: Partial<Record<string, Record<string, unknown>>> = {
  AskApproved: { decision: 'approved' },
  AskDenied: { decision: 'denied' },
  AskExpired: { decision: 'expired' },
  AutopilotPaused: { status: 'paused' },
  AutopilotResumed: { status: 'running' },
  MemoryDeleted: { deleted: true },
};

/** `SomeEventHappened` → `some_event_happened`, for event types without a chosen name. */
const snakeCase = (type: string): string => type.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

/** Every event becomes exactly one report, so report positions are event positions. */
export function toReport(event: RecordedEvent): Report {
  const data: Record<string, unknown> = event.data;
  const { command_id, task_id, ...rest } = data;
  const added = extra[event.type];
  const payload = event.type === 'AskCreated' ? askPayload(rest) : added ? Object.assign({}, added, rest) : rest;
  return {
    report_id: event.event_id,
    report_type: reportTypes[event.type] ?? snakeCase(event.type),
    position: event.position,
    correlation_id: event.metadata.correlation_id,
    command_id: typeof command_id === 'string' ? command_id : null,
    task_id: typeof task_id === 'string' ? task_id : null,
    payload,
    timestamp: event.metadata.occurred_at,
  };
}

/** The seed's ask shape: the exact command params travel as `payload`. */
function askPayload({ params, ...ask }: Record<string, unknown>): Record<string, unknown> {
  return Object.assign(ask, { payload: params });
}

const eventTypes = new Map<string, string>(Object.entries(reportTypes).map(([event, report]) => [report, event]));

/** The event type behind a report: reports shared by several events tell them apart by a field. */
function eventTypeOf(report: Report): string {
  const { payload } = report;
  switch (report.report_type) {
    case 'ask_resolved':
      return payload.decision === 'approved'
        ? 'AskApproved'
        : payload.decision === 'denied'
          ? 'AskDenied'
          : 'AskExpired';
    case 'autopilot_changed':
      return payload.status === 'paused' ? 'AutopilotPaused' : 'AutopilotResumed';
    case 'memory_changed':
      return payload.deleted === true ? 'MemoryDeleted' : 'MemorySet';
    default:
      return eventTypes.get(report.report_type) ?? report.report_type;
  }
}

/**
 * Reports are made from events upcast to their current version, which they do not carry; no
 * projection reads it. Versions start at 1.
 */
const UNREPORTED_VERSION = 0;

/**
 * The event a report was made from, as far as projections need it: a client that holds a
 * snapshot folds the reports after it with the same projection the server uses.
 */
export function fromReport(report: Report, tenant: Tenant): RecordedEvent {
  const type = eventTypeOf(report);
  const { payload: params, ...rest } = report.payload;
  const data = Object.assign(
    {},
    type === 'AskCreated' ? Object.assign(rest, { params }) : report.payload,
    report.command_id === null ? {} : { command_id: report.command_id },
    report.task_id === null ? {} : { task_id: report.task_id },
  );
  return typedEvent({
    type,
    data,
    position: report.position,
    tenant,
    // Reports do not tell the stream; no projection reads it.
    stream: '',
    revision: 0,
    event_id: report.report_id,
    version: UNREPORTED_VERSION,
    metadata: { correlation_id: report.correlation_id, occurred_at: report.timestamp },
  });
}
