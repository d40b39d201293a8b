import type { CommandLifeEvent, Failure, RiskLevel } from '../events/command-events.js';
import type { RecordedEvent } from '../events/envelope.js';

/** What became of the task of an approved command. */
export interface ApprovalRun {
  readonly status: 'queued' | 'running' | 'retrying' | 'succeeded' | 'dead_lettered';
  readonly attempts: number;
  readonly executors: readonly string[];
  readonly started_at?: string;
  readonly finished_at?: string;
  readonly result?: unknown;
  readonly error?: Failure;
}

/** One RED command's whole chain: who asked for what, who decided, when, why, what ran. */
export interface ApprovalRecord {
  readonly ask_id: string;
  readonly command_id: string;
  readonly command_type: string;
  readonly correlation_id: string;
  readonly risk_level: RiskLevel;
  readonly description: string;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly payload_hash: string;
  readonly requested_by: string;
  readonly requested_at: string;
  readonly expires_at: string;
  readonly status: 'pending' | 'approved' | 'denied' | 'expired';
  readonly decided_by?: string;
  readonly decided_at?: string;
  readonly reason?: string;
  /** APPROVAL_FOUR_EYES as it held for the decision (absent for decisions recorded before the setting). */
  readonly four_eyes?: 'named' | 'always' | 'off';
  readonly run?: ApprovalRun;
  /** The positions of every event this record was folded from: each can be checked in the log. */
  readonly positions: readonly number[];
}

type Draft = { -readonly [K in keyof ApprovalRecord]: ApprovalRecord[K] };

function runAfter(run: ApprovalRun | undefined, event: RecordedEvent<CommandLifeEvent>): ApprovalRun | undefined {
  const base: ApprovalRun = run ?? { status: 'queued', attempts: 0, executors: [] };
  switch (event.type) {
    case 'TaskQueued':
      return base;
    case 'TaskStarted': {
      const executors = base.executors.includes(event.data.executor_id)
        ? base.executors
        : [...base.executors, event.data.executor_id];
      return {
        ...base,
        status: 'running',
        attempts: event.data.attempt,
        executors,
        started_at: base.started_at ?? event.metadata.occurred_at,
      };
    }
    case 'TaskSucceeded':
      return { ...base, status: 'succeeded', result: event.data.result, finished_at: event.metadata.occurred_at };
    case 'TaskFailed':
      return { ...base, error: event.data.error };
    case 'TaskRetryScheduled':
      return { ...base, status: 'retrying' };
    case 'TaskDeadLettered':
      return { ...base, status: 'dead_lettered', error: event.data.error, finished_at: event.metadata.occurred_at };
    default:
      return run;
  }
}

/**
 * Folds one command's stream into the record of one of its asks (`askId`; its latest by
 * default): from that ask's creation up to the next ask, if the command was asked about again.
 * `undefined` for a command that never had that ask. Pure: the same events always give the same
 * record.
 */
export function approvalRecord(events: readonly RecordedEvent[], askId?: string): ApprovalRecord | undefined {
  let record: Draft | undefined;
  let positions: number[] = [];
  for (const recorded of events as readonly RecordedEvent<CommandLifeEvent>[]) {
    if (recorded.type === 'AskCreated' && record !== undefined) {
      // The command is asked about again: the record asked for ends here, or a new one starts.
      if (record.ask_id === askId) break;
      positions = [];
    }
    positions.push(recorded.position);
    if (recorded.type === 'AskCreated') {
      const {
        ask_id,
        command_id,
        command_type,
        risk_level,
        description,
        params,
        payload_hash,
        requested_by,
        expires_at,
      } = recorded.data;
      record = {
        ask_id,
        command_id,
        command_type,
        correlation_id: recorded.metadata.correlation_id,
        risk_level,
        description,
        payload: params,
        payload_hash,
        requested_by,
        requested_at: recorded.metadata.occurred_at,
        expires_at,
        status: 'pending',
        positions,
      };
    }
    if (!record) continue;
    if (recorded.type === 'AskApproved' || recorded.type === 'AskDenied') {
      record.status = recorded.type === 'AskApproved' ? 'approved' : 'denied';
      record.decided_by = recorded.data.decided_by;
      record.decided_at = recorded.metadata.occurred_at;
      if (recorded.data.reason !== undefined) record.reason = recorded.data.reason;
      if (recorded.data.four_eyes !== undefined) record.four_eyes = recorded.data.four_eyes;
    } else if (recorded.type === 'AskExpired') {
      record.status = 'expired';
      record.decided_at = recorded.metadata.occurred_at;
    } else if (record.status === 'approved') {
      const run = runAfter(record.run, recorded);
      if (run) record.run = run;
    }
  }
  return askId === undefined || record?.ask_id === askId ? record : undefined;
}
