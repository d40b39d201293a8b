import type { CommandLifeEvent, TriageAction } from '../events/command-events.js';
import {
  taskIds,
  type AcceptedCommand,
  type AskTerms,
  type CommandLifeState,
  type DiscardHeldTask,
  type RequeueHeldTask,
  type TriageDeadLetter,
} from './command-life.js';
import { newAsk } from './decide-ask.js';
import { CommandNotFoundError, TaskNotHeldError } from './errors.js';
import { barsRequester } from './four-eyes.js';

/** Which failure codes triage requeues, holds or raises an alarm for. */
export interface TriagePolicy {
  readonly requeue: readonly string[];
  readonly hold: readonly string[];
  readonly alarm: readonly string[];
  /** Automatic requeues of one command before it is held instead. */
  readonly max_requeues: number;
  /** The terms of the ask a RED command gets when it is requeued past its approval. */
  readonly ask_terms: AskTerms;
}

function actionFor(code: string, requeues: number, policy: TriagePolicy): TriageAction {
  if (policy.alarm.includes(code)) return 'alarm';
  if (policy.requeue.includes(code)) return requeues < policy.max_requeues ? 'requeue' : 'hold';
  // Over budget is never silently dropped: a person decides (or tomorrow's budget).
  if (policy.hold.includes(code) || code === 'BUDGET_EXCEEDED') return 'hold';
  return 'keep';
}

/** Whether a RED command's approval still covers another attempt at `now`. */
const approvalHolds = (command: AcceptedCommand, now: Date): boolean =>
  command.approval_valid_until !== undefined && now.getTime() < Date.parse(command.approval_valid_until);

type DeadLettered = Extract<CommandLifeState, { status: 'dead_lettered' }>;

/**
 * What sends a dead letter back: one more attempt, or, for a RED command whose approval no
 * longer covers it (lapsed, or `asksAgain`), a new ask for the same payload.
 */
function backToWork(state: DeadLettered, now: Date, terms: AskTerms, asksAgain: boolean): CommandLifeEvent {
  const { command } = state;
  const approved = command.approved_hash;
  if (command.risk_level === 'RED' && approved !== undefined && (asksAgain || !approvalHolds(command, now))) {
    return newAsk(command, command.params, approved, now, terms);
  }
  return { type: 'TaskQueued', data: { ...taskIds(command), attempt: state.attempts + 1 } };
}

/**
 * Triage of a dead-lettered task, once: requeued for one more attempt (a bounded number of
 * times), held for a person, held with an alarm, or kept as it is (no rule for its code).
 */
export function triage({ data, metadata }: TriageDeadLetter, state: CommandLifeState): CommandLifeEvent[] {
  if (state.status === 'absent') throw new CommandNotFoundError(`no command for task ${data.task_id}`);
  if (state.status !== 'dead_lettered' || state.triage !== 'pending') return [];
  const ids = taskIds(state.command);
  const { code, message } = state.error;
  const before = state.command.requeues ?? 0;
  const action = actionFor(code, before, data.policy);
  const requeues = action === 'requeue' ? before + 1 : before;
  const triaged: CommandLifeEvent = { type: 'DeadLetterTriaged', data: { ...ids, action, code, requeues } };
  if (action === 'requeue') return [triaged, backToWork(state, metadata.now, data.policy.ask_terms, false)];
  if (action === 'alarm') return [triaged, { type: 'AlarmRaised', data: { ...ids, code, message } }];
  return [triaged];
}

/**
 * An admin sends a held (or kept) dead letter back for one more attempt. A RED command goes
 * back to a person instead when its approval has lapsed, or when four eyes bar the admin, who
 * requested it.
 */
export function requeueHeld({ data, metadata }: RequeueHeldTask, state: CommandLifeState): CommandLifeEvent[] {
  const held = heldState(state, data.task_id);
  const ids = taskIds(held.command);
  const byRequester = barsRequester(
    data.four_eyes.rule,
    { id: metadata.actor, shared: data.four_eyes.shared },
    held.command.requested_by,
  );
  return [
    { type: 'HeldTaskRequeued', data: { ...ids, by: metadata.actor, reason: data.reason } },
    backToWork(held, metadata.now, data.ask_terms, byRequester),
  ];
}

/** An admin gives up on a held (or kept) dead letter for good. */
export function discardHeld({ data, metadata }: DiscardHeldTask, state: CommandLifeState): CommandLifeEvent[] {
  const held = heldState(state, data.task_id);
  return [{ type: 'HeldTaskDiscarded', data: { ...taskIds(held.command), by: metadata.actor, reason: data.reason } }];
}

function heldState(state: CommandLifeState, taskId: string): DeadLettered {
  if (state.status === 'absent') throw new CommandNotFoundError(`no command for task ${taskId}`);
  if (state.status !== 'dead_lettered' || (state.triage !== 'held' && state.triage !== 'kept')) {
    throw new TaskNotHeldError(`task ${taskId} is not dead-lettered and triaged (${state.status})`);
  }
  return state;
}
