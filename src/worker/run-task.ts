import type { Catalog } from '../catalog/catalog.js';
import { commandLifeDecider, type CommandLifeCommand } from '../commands/command-life.js';
import type { CommandMetadata } from '../commands/decider.js';
import { StaleAttemptError, TaskNotRunnableError } from '../commands/errors.js';
import { handleCommand } from '../commands/handle-command.js';
import type { RetryPolicy } from '../commands/retry-policy.js';
import { commandStream } from '../events/command-events.js';
import type { Logger } from '../logger.js';
import type { PendingTask } from '../projections/pending-tasks.js';
import { ConcurrencyError, type EventStore } from '../store/event-store.js';
import { executeHandler } from './execute-handler.js';

export interface TaskRunnerDeps {
  readonly store: EventStore;
  readonly catalog: Catalog;
  readonly executorId: string;
  readonly retryPolicy: RetryPolicy;
  readonly taskTimeoutMs: number;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly newEventId: () => string;
  /** In [0, 1): the jitter of retry delays. */
  readonly random: () => number;
}

export type TaskOutcome = 'succeeded' | 'failed' | 'skipped';

const isLostRace = (error: unknown): boolean =>
  error instanceof ConcurrencyError || error instanceof TaskNotRunnableError || error instanceof StaleAttemptError;

/**
 * The task's own logger, made on first use (most tasks log nothing): every line names its
 * correlation id, command and task.
 */
function taskLogger(logger: Logger, task: PendingTask): () => Logger {
  let child: Logger | undefined;
  const { command_id, task_id } = 'command' in task.state ? task.state.command : { command_id: task.command_id, task_id: undefined };
  return () => (child ??= logger.child({ correlation_id: task.correlation_id, command_id, task_id }));
}

/**
 * Runs one attempt of a task, the log deciding at every step: claim the attempt with
 * `TaskStarted` at the expected revision (a concurrent claim loses; a stale view is re-read
 * once), run the handler, record the outcome at the revision after the claim (a stale
 * executor's result is rejected). Returns `skipped` when the log had moved on.
 */
export function runTask(deps: TaskRunnerDeps, task: PendingTask, shutdown?: AbortSignal): Promise<TaskOutcome> {
  const { state, tenant, correlation_id } = task;
  if (state.status !== 'queued' && state.status !== 'retry_scheduled') return Promise.resolve('skipped');
  const { command_id, task_id } = state.command;
  const attempt = state.attempt;
  const logger = taskLogger(deps.logger, task);
  return (async () => {
    const target = { tenant, stream: commandStream(command_id) };
    const metadata = (): CommandMetadata => ({ now: deps.now(), correlation_id, actor: deps.executorId });
    try {
      // 1. claim
      const claim: CommandLifeCommand = { type: 'StartTask', data: { task_id, attempt, executor_id: deps.executorId }, metadata: metadata() };
      const started = await handleCommand(deps.store, commandLifeDecider, target, claim, {
        newEventId: deps.newEventId,
        known: { state, revision: task.revision },
        maxTries: 2,
      });
      if (started.state.status !== 'running' || started.events.length === 0) return 'skipped';
      // 2. run
      const execution = await executeHandler(
        deps.catalog,
        started.state.command,
        (signal) => ({
          tenant,
          correlation_id,
          command_id,
          task_id,
          attempt,
          signal,
          get logger() {
            return logger();
          },
        }),
        { timeoutMs: deps.taskTimeoutMs, shutdown, now: () => performance.now() },
      );
      // 3. record
      const outcome: CommandLifeCommand = execution.ok
        ? { type: 'CompleteTask', data: { task_id, attempt, result: execution.result, duration_ms: execution.duration_ms }, metadata: metadata() }
        : {
            type: 'FailTask',
            data: {
              task_id,
              attempt,
              error: execution.error,
              retryable: execution.retryable,
              duration_ms: execution.duration_ms,
              retry_policy: deps.retryPolicy,
              jitter: deps.random(),
            },
            metadata: metadata(),
          };
      await handleCommand(deps.store, commandLifeDecider, target, outcome, { newEventId: deps.newEventId, known: started });
      if (!execution.ok) logger().warn({ error: execution.error, attempt }, 'task failed');
      return execution.ok ? 'succeeded' : 'failed';
    } catch (error) {
      if (isLostRace(error)) {
        logger().debug({ err: error }, 'task skipped: the log moved on');
        return 'skipped';
      }
      throw error;
    }
  })();
}

/** Records an attempt whose executor vanished (a crash, a kill) as failed, so it is retried. */
export function abandonTask(deps: TaskRunnerDeps, task: PendingTask, reason: string): Promise<void> {
  const { state, tenant, correlation_id } = task;
  if (state.status !== 'running') return Promise.resolve();
  const logger = taskLogger(deps.logger, task);
  return (async () => {
    const command: CommandLifeCommand = {
      type: 'FailTask',
      data: {
        task_id: state.command.task_id,
        attempt: state.attempt,
        error: { code: 'WORKER_LOST', message: reason },
        retryable: true,
        retry_policy: deps.retryPolicy,
        jitter: deps.random(),
      },
      metadata: { now: deps.now(), correlation_id, actor: deps.executorId },
    };
    try {
      const target = { tenant, stream: commandStream(state.command.command_id) };
      await handleCommand(deps.store, commandLifeDecider, target, command, { newEventId: deps.newEventId, known: { state, revision: task.revision } });
      logger().warn({ attempt: state.attempt }, 'task abandoned by a lost executor: recorded as failed');
    } catch (error) {
      if (!isLostRace(error)) throw error;
    }
  })();
}
