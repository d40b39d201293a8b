import type { CommandLifeEvent, Failure, RiskLevel } from '../events/command-events.js';
import type { Command, Decider } from './decider.js';
import { decideAsk, expireAsk, warnAskExpiry } from './decide-ask.js';
import { submit } from './decide-submit.js';
import { complete, fail, start } from './decide-task.js';
import { discardHeld, requeueHeld, triage, type TriagePolicy } from './decide-triage.js';
import type { RetryPolicy } from './retry-policy.js';
import type { FourEyesRule } from './four-eyes.js';

export type SubmitCommand = Command<
  'SubmitCommand',
  {
    command_id: string;
    task_id: string;
    command_type: string;
    params: Record<string, unknown>;
    risk_level: RiskLevel;
    description: string;
    /** Only with an idempotency key: what replays are compared by. */
    request_hash?: string;
    /** Only for RED commands: what an approval is bound to. */
    payload_hash?: string;
    idempotency_key?: string;
    ask_ttl_seconds: number;
    /** How long before its expiry an ask is warned about (`AskExpiring`). */
    ask_warning_seconds: number;
  }
>;
export type StartTask = Command<
  'StartTask',
  {
    task_id: string;
    attempt: number;
    executor_id: string;
    /** The hash of the payload the executor is about to run; checked against an approval. */
    payload_hash?: string;
  }
>;
export type CompleteTask = Command<
  'CompleteTask',
  { task_id: string; attempt: number; result: unknown; duration_ms: number }
>;
export type FailTask = Command<
  'FailTask',
  {
    task_id: string;
    attempt: number;
    error: Failure;
    retryable: boolean;
    duration_ms?: number;
    retry_policy: RetryPolicy;
    /** Random number in [0, 1) drawn at the edge, so `decide` stays pure. */
    jitter: number;
  }
>;
/** How long an ask waits, and how long before its end it is warned about (ASK_TTL_SECONDS, ASK_EXPIRY_WARNING_SECONDS). */
export interface AskTerms {
  readonly ttl_seconds: number;
  readonly warning_seconds: number;
}

/** Four eyes as the edge knows them: the rule in force and whether the actor's key is a shared one. */
export interface FourEyes {
  readonly rule: FourEyesRule;
  readonly shared: boolean;
}

/** A person's decision on an ask; `metadata.actor` is who decides. */
export type DecideAsk = Command<
  'DecideAsk',
  {
    ask_id: string;
    decision: 'approve' | 'deny';
    reason?: string;
    /** The hash of the payload the decider was shown, when the client sends it. */
    payload_hash?: string;
    four_eyes: FourEyes;
    /** An approval lets a later requeue run without asking again for this long (ASK_TTL_SECONDS). */
    approval_ttl_seconds: number;
  }
>;
/** Records that an ask's expiry is near. Decided at or after its `warn_at`. */
export type WarnAskExpiry = Command<'WarnAskExpiry', { ask_id: string }>;
/** Ends an ask nobody decided in time. Decided at or after its `expires_at`. */
export type ExpireAsk = Command<'ExpireAsk', { ask_id: string }>;

/** Triage of a dead-lettered task by its failure code (recorded once). */
export type TriageDeadLetter = Command<'TriageDeadLetter', { task_id: string; policy: TriagePolicy }>;
/**
 * An admin's decision on a held task; `metadata.actor` is the admin. A RED command asks again
 * when its approval lapsed or four eyes bar the admin, who requested it.
 */
export type RequeueHeldTask = Command<
  'RequeueHeldTask',
  { task_id: string; reason?: string; four_eyes: FourEyes; ask_terms: AskTerms }
>;
export type DiscardHeldTask = Command<'DiscardHeldTask', { task_id: string; reason?: string }>;

export type CommandLifeCommand =
  | SubmitCommand
  | StartTask
  | CompleteTask
  | FailTask
  | DecideAsk
  | WarnAskExpiry
  | ExpireAsk
  | TriageDeadLetter
  | RequeueHeldTask
  | DiscardHeldTask;

export interface AcceptedCommand {
  readonly command_id: string;
  readonly task_id: string;
  readonly command_type: string;
  readonly params: Record<string, unknown>;
  readonly risk_level: RiskLevel;
  readonly description: string;
  readonly requested_by: string;
  readonly request_hash?: string;
  /** Set by an approval: the only payload this command may run with. */
  readonly approved_hash?: string;
  /** Set by an approval: a requeue after it asks again. */
  readonly approval_valid_until?: string;
  /** How many asks it has had (a requeue past its approval asks again). */
  readonly asks?: number;
  /** Attempts made before it was dead-lettered and asked about again: the next attempt follows them. */
  readonly attempts_before?: number;
  /** How many times triage requeued it. */
  readonly requeues?: number;
}

/** `pending` until triage ran; `held` waits for an admin. */
export type TriageStatus = 'pending' | 'held' | 'kept' | 'requeued' | 'discarded';

export interface PendingAskState {
  readonly ask_id: string;
  readonly payload_hash: string;
  readonly expires_at: string;
  readonly warn_at?: string;
  readonly warned: boolean;
}

export type CommandLifeState =
  | { readonly status: 'absent' }
  | { readonly status: 'accepted'; readonly command: AcceptedCommand }
  | { readonly status: 'awaiting_approval'; readonly command: AcceptedCommand; readonly ask: PendingAskState }
  | { readonly status: 'denied' | 'expired'; readonly command: AcceptedCommand; readonly ask_id: string }
  | { readonly status: 'queued'; readonly command: AcceptedCommand; readonly attempt: number }
  | {
      readonly status: 'retry_scheduled';
      readonly command: AcceptedCommand;
      readonly attempt: number;
      readonly retry_at: string;
    }
  | {
      readonly status: 'running';
      readonly command: AcceptedCommand;
      readonly attempt: number;
      readonly executor_id: string;
    }
  | { readonly status: 'succeeded'; readonly command: AcceptedCommand; readonly attempt: number }
  | {
      readonly status: 'dead_lettered';
      readonly command: AcceptedCommand;
      readonly attempts: number;
      readonly error: Failure;
      readonly triage: TriageStatus;
    };

export const initialState = (): CommandLifeState => ({ status: 'absent' });

export const taskIds = ({
  command_id,
  task_id,
  command_type,
}: Pick<AcceptedCommand, 'command_id' | 'task_id' | 'command_type'>) => ({ command_id, task_id, command_type });

export function decide(command: CommandLifeCommand, state: CommandLifeState): CommandLifeEvent[] {
  switch (command.type) {
    case 'SubmitCommand':
      return submit(command, state);
    case 'StartTask':
      return start(command, state);
    case 'CompleteTask':
      return complete(command, state);
    case 'FailTask':
      return fail(command, state);
    case 'DecideAsk':
      return decideAsk(command, state);
    case 'WarnAskExpiry':
      return warnAskExpiry(command, state);
    case 'ExpireAsk':
      return expireAsk(command, state);
    case 'TriageDeadLetter':
      return triage(command, state);
    case 'RequeueHeldTask':
      return requeueHeld(command, state);
    case 'DiscardHeldTask':
      return discardHeld(command, state);
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${(unknown as Command).type}`);
    }
  }
}

function withCommand(state: CommandLifeState, next: (command: AcceptedCommand) => CommandLifeState): CommandLifeState {
  return state.status === 'absent' ? state : next(state.command);
}

export function evolve(state: CommandLifeState, event: CommandLifeEvent): CommandLifeState {
  switch (event.type) {
    case 'CommandAccepted': {
      const { command_id, task_id, command_type, params, risk_level, description, requested_by, request_hash } =
        event.data;
      return {
        status: 'accepted',
        command: {
          command_id,
          task_id,
          command_type,
          params,
          risk_level,
          description,
          requested_by,
          ...(request_hash === undefined ? {} : { request_hash }),
        },
      };
    }
    case 'AskCreated': {
      const { ask_id, payload_hash, expires_at, warn_at } = event.data;
      const ask: PendingAskState = {
        ask_id,
        payload_hash,
        expires_at,
        warned: false,
        ...(warn_at === undefined ? {} : { warn_at }),
      };
      // A new ask supersedes any earlier approval; asked again after a dead letter, the command
      // goes on from its last attempt once approved.
      const attemptsBefore = state.status === 'dead_lettered' ? { attempts_before: state.attempts } : {};
      return withCommand(state, ({ approved_hash: _approved, approval_valid_until: _until, ...command }) => ({
        status: 'awaiting_approval',
        command: { ...command, asks: (command.asks ?? 0) + 1, ...attemptsBefore },
        ask,
      }));
    }
    case 'AskExpiring':
      return state.status === 'awaiting_approval'
        ? { status: state.status, command: state.command, ask: { ...state.ask, warned: true } }
        : state;
    case 'AskApproved': {
      // the TaskQueued recorded with it moves the command on; the approval binds the payload
      const { payload_hash, valid_until } = event.data;
      return withCommand(state, (command) => ({
        status: 'accepted',
        command: {
          ...command,
          approved_hash: payload_hash,
          ...(valid_until === undefined ? {} : { approval_valid_until: valid_until }),
        },
      }));
    }
    case 'AskDenied':
      return withCommand(state, (command) => ({ status: 'denied', command, ask_id: event.data.ask_id }));
    case 'AskExpired':
      return withCommand(state, (command) => ({ status: 'expired', command, ask_id: event.data.ask_id }));
    case 'TaskQueued':
      return withCommand(state, (command) => ({ status: 'queued', command, attempt: event.data.attempt }));
    case 'TaskStarted':
      return withCommand(state, (command) => ({
        status: 'running',
        command,
        attempt: event.data.attempt,
        executor_id: event.data.executor_id,
      }));
    case 'TaskSucceeded':
      return withCommand(state, (command) => ({ status: 'succeeded', command, attempt: event.data.attempt }));
    case 'TaskRetryScheduled':
      return withCommand(state, (command) => ({
        status: 'retry_scheduled',
        command,
        attempt: event.data.attempt,
        retry_at: event.data.retry_at,
      }));
    case 'TaskDeadLettered':
      return withCommand(state, (command) => ({
        status: 'dead_lettered',
        command,
        attempts: event.data.attempts,
        error: event.data.error,
        triage: 'pending',
      }));
    case 'DeadLetterTriaged': {
      if (state.status !== 'dead_lettered') return state;
      const triage: TriageStatus = { requeue: 'requeued', hold: 'held', alarm: 'held', keep: 'kept' }[
        event.data.action
      ] as TriageStatus;
      return { ...state, command: { ...state.command, requeues: event.data.requeues }, triage };
    }
    case 'HeldTaskRequeued':
      return state.status === 'dead_lettered' ? { ...state, triage: 'requeued' } : state;
    case 'HeldTaskDiscarded':
      return state.status === 'dead_lettered' ? { ...state, triage: 'discarded' } : state;
    case 'AlarmRaised':
      return state;
    case 'RiskWarningRaised':
    case 'TaskFailed':
      return state;
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}

export const commandLifeDecider: Decider<CommandLifeCommand, CommandLifeState, CommandLifeEvent> = {
  decide,
  evolve,
  initialState,
};
