import type { CommandLifeEvent, TaskFailed } from '../events/command-events.js';
import { taskIds, type CommandLifeState, type CompleteTask, type FailTask, type StartTask } from './command-life.js';
import { CommandNotFoundError, StaleAttemptError, TaskNotRunnableError } from './errors.js';
import { retryDelayMs } from './retry-policy.js';

/**
 * Claims an attempt. A command that needed an approval starts only with exactly the payload
 * that was approved: any other payload is refused for good (`PAYLOAD_HASH_MISMATCH`).
 */
export function start({ data, metadata }: StartTask, state: CommandLifeState): CommandLifeEvent[] {
  if (state.status === 'absent') throw new CommandNotFoundError(`no command for task ${data.task_id}`);
  const { command } = state;
  if (command.task_id !== data.task_id)
    throw new TaskNotRunnableError(`task ${data.task_id} is not this command's task`);
  if (state.status === 'running' && state.attempt === data.attempt && state.executor_id === data.executor_id) return [];
  const runnable = (state.status === 'queued' || state.status === 'retry_scheduled') && state.attempt === data.attempt;
  if (!runnable)
    throw new TaskNotRunnableError(`task ${data.task_id} attempt ${data.attempt} cannot start (${state.status})`);
  if (state.status === 'retry_scheduled' && metadata.now.getTime() < Date.parse(state.retry_at)) {
    throw new TaskNotRunnableError(`task ${data.task_id} is not due before ${state.retry_at}`);
  }
  const ids = taskIds(command);
  if (command.risk_level === 'RED' && command.approved_hash === undefined) {
    throw new TaskNotRunnableError(`task ${data.task_id} needs an approval`);
  }
  if (command.approved_hash !== undefined && data.payload_hash !== command.approved_hash) {
    const error = { code: 'PAYLOAD_HASH_MISMATCH', message: 'the payload to run is not the payload that was approved' };
    return [
      { type: 'TaskFailed', data: { attempt: data.attempt, error, retryable: false, ...ids } },
      { type: 'TaskDeadLettered', data: { attempts: data.attempt, error, ...ids } },
    ];
  }
  return [{ type: 'TaskStarted', data: { attempt: data.attempt, executor_id: data.executor_id, ...ids } }];
}

export function complete({ data }: CompleteTask, state: CommandLifeState): CommandLifeEvent[] {
  if (state.status === 'absent') throw new CommandNotFoundError(`no command for task ${data.task_id}`);
  if (state.status === 'succeeded' && state.attempt === data.attempt) return [];
  if (state.status !== 'running' || state.attempt !== data.attempt || state.command.task_id !== data.task_id) {
    throw new StaleAttemptError(`task ${data.task_id} attempt ${data.attempt} is not running (${state.status})`);
  }
  return [
    {
      type: 'TaskSucceeded',
      data: { attempt: data.attempt, result: data.result, duration_ms: data.duration_ms, ...taskIds(state.command) },
    },
  ];
}

export function fail({ data, metadata }: FailTask, state: CommandLifeState): CommandLifeEvent[] {
  if (state.status === 'absent') throw new CommandNotFoundError(`no command for task ${data.task_id}`);
  const alreadyRecorded =
    (state.status === 'retry_scheduled' && state.attempt === data.attempt + 1) ||
    (state.status === 'dead_lettered' && state.attempts === data.attempt);
  if (alreadyRecorded) return [];
  if (state.status !== 'running' || state.attempt !== data.attempt || state.command.task_id !== data.task_id) {
    throw new StaleAttemptError(`task ${data.task_id} attempt ${data.attempt} is not running (${state.status})`);
  }
  const ids = taskIds(state.command);
  const failed: TaskFailed = {
    type: 'TaskFailed',
    data: {
      command_id: ids.command_id,
      task_id: ids.task_id,
      command_type: ids.command_type,
      attempt: data.attempt,
      error: data.error,
      retryable: data.retryable,
      duration_ms: data.duration_ms,
    },
  };
  if (data.retryable && data.attempt <= data.retry_policy.max_retries) {
    const delay = retryDelayMs(data.attempt, data.retry_policy, data.jitter);
    const retryAt = new Date(metadata.now.getTime() + delay).toISOString();
    return [
      failed,
      { type: 'TaskRetryScheduled', data: { attempt: data.attempt + 1, retry_at: retryAt, delay_ms: delay, ...ids } },
    ];
  }
  return [failed, { type: 'TaskDeadLettered', data: { attempts: data.attempt, error: data.error, ...ids } }];
}
