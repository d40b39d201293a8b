import type { CommandLifeState } from '../commands/command-life.js';
import type { PendingTask } from '../projections/pending-tasks.js';
import {
  abandonTask,
  runTask,
  timeOutAsk,
  triageTask,
  type TaskOutcome,
  type TaskRunnerDeps,
} from '../worker/run-task.js';

/** One step of a command's life, taken in this process on the command as its stream tells it. */
export type DueStep = (deps: TaskRunnerDeps, task: PendingTask, shutdown: AbortSignal) => Promise<TaskOutcome>;

const warnOrExpireAsk: DueStep = (deps, task) => timeOutAsk(deps, task);
const abandonLostAttempt: DueStep = (deps, task) =>
  abandonTask(deps, task, 'the executor running this attempt stopped before it recorded an outcome');
const triage: DueStep = (deps, task) => triageTask(deps, task);

/**
 * What is due for a claimed command, by the status its stream shows now: an ask nobody decided
 * is warned about or expired, an attempt the log shows running belongs to an executor that is
 * gone and is abandoned, a dead letter is triaged, and a task is run.
 *
 * @example
 *   const task = await loadTask(store, tenant, commandId, correlationId);
 *   const outcome = await dueStep(task.state.status)(deps, task, shutdown);
 */
export function dueStep(status: CommandLifeState['status']): DueStep {
  switch (status) {
    case 'awaiting_approval':
      return warnOrExpireAsk;
    case 'running':
      return abandonLostAttempt;
    case 'dead_lettered':
      return triage;
    default:
      return runTask;
  }
}
