import type { CommandLifeEvent, TriageAction } from '../events/command-events.js';
import { taskIds, type CommandLifeState, type DiscardHeldTask, type RequeueHeldTask, type TriageDeadLetter } from './command-life.js';
import { CommandNotFoundError, TaskNotHeldError } from './errors.js';

/** Which failure codes triage requeues, holds or raises an alarm for. */
export interface TriagePolicy {
  readonly requeue: readonly string[];
  readonly hold: readonly string[];
  readonly alarm: readonly string[];
  /** Automatic requeues of one command before it is held instead. */
  readonly max_requeues: number;
}

function actionFor(code: string, requeues: number, policy: TriagePolicy): TriageAction {
  if (policy.alarm.includes(code)) return 'alarm';
  if (policy.requeue.includes(code)) return requeues < policy.max_requeues ? 'requeue' : 'hold';
  // Over budget is never silently dropped: a person decides (or tomorrow's budget).
  if (policy.hold.includes(code) || code === 'BUDGET_EXCEEDED') return 'hold';
  return 'keep';
}

/**
 * Triage of a dead-lettered task, once: requeued for one more attempt (a bounded number of
 * times), held for a person, held with an alarm, or kept as it is (no rule for its code).
 */
export function triage({ data }: TriageDeadLetter, state: CommandLifeState): CommandLifeEvent[] {
  if (state.status === 'absent') throw new CommandNotFoundError(`no command for task ${data.task_id}`);
  if (state.status !== 'dead_lettered' || state.triage !== 'pending') return [];
  const ids = taskIds(state.command);
  const { code, message } = state.error;
  const before = state.command.requeues ?? 0;
  const action = actionFor(code, before, data.policy);
  const requeues = action === 'requeue' ? before + 1 : before;
  const triaged: CommandLifeEvent = { type: 'DeadLetterTriaged', data: { ...ids, action, code, requeues } };
  if (action === 'requeue') return [triaged, { type: 'TaskQueued', data: { ...ids, attempt: state.attempts + 1 } }];
  if (action === 'alarm') return [triaged, { type: 'AlarmRaised', data: { ...ids, code, message } }];
  return [triaged];
}

/** An admin sends a held (or kept) dead letter back to the queue for one more attempt. */
export function requeueHeld({ data, metadata }: RequeueHeldTask, state: CommandLifeState): CommandLifeEvent[] {
  const held = heldState(state, data.task_id);
  const ids = taskIds(held.command);
  const reason = data.reason === undefined ? {} : { reason: data.reason };
  return [
    { type: 'HeldTaskRequeued', data: { ...ids, by: metadata.actor, ...reason } },
    { type: 'TaskQueued', data: { ...ids, attempt: held.attempts + 1 } },
  ];
}

/** An admin gives up on a held (or kept) dead letter for good. */
export function discardHeld({ data, metadata }: DiscardHeldTask, state: CommandLifeState): CommandLifeEvent[] {
  const held = heldState(state, data.task_id);
  const reason = data.reason === undefined ? {} : { reason: data.reason };
  return [{ type: 'HeldTaskDiscarded', data: { ...taskIds(held.command), by: metadata.actor, ...reason } }];
}

function heldState(state: CommandLifeState, taskId: string): Extract<CommandLifeState, { status: 'dead_lettered' }> {
  if (state.status === 'absent') throw new CommandNotFoundError(`no command for task ${taskId}`);
  if (state.status !== 'dead_lettered' || (state.triage !== 'held' && state.triage !== 'kept')) {
    throw new TaskNotHeldError(`task ${taskId} is not dead-lettered and triaged (${state.status})`);
  }
  return state;
}
