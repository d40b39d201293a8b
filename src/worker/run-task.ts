import type { Catalog } from '../catalog/catalog.js';
import { commandLifeDecider, type CommandLifeCommand } from '../commands/command-life.js';
import type { CommandMetadata } from '../commands/decider.js';
import { StaleAttemptError, TaskNotRunnableError } from '../commands/errors.js';
import { handleCommand, load } from '../commands/handle-command.js';
import type { RetryPolicy } from '../commands/retry-policy.js';
import { commandStream } from '../events/command-events.js';
import { withLogContext, type Logger } from '../logger.js';
import type { TaskRef } from '../projections/pending-tasks.js';
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
 * Runs one attempt of a task, the log deciding at every step: load the command's life, claim
 * the attempt with `TaskStarted` at the expected revision (a concurrent claim loses), run the
 * handler, record the outcome at the revision after the claim (a stale executor's result is
 * rejected). Returns `skipped` when the log had moved on.
 */
export function runTask(deps: TaskRunnerDeps, ref: TaskRef, shutdown?: AbortSignal): Promise<TaskOutcome> {
  const { correlation_id, command_id, task_id, attempt, tenant } = ref;
  return withLogContext({ correlation_id, command_id, task_id }, async () => {
    const target = { tenant, stream: commandStream(command_id) };
    const metadata = (): CommandMetadata => ({ now: deps.now(), correlation_id, actor: deps.executorId });
    const options = { newEventId: deps.newEventId };
    try {
      // 1. load
      const loaded = await load(deps.store, commandLifeDecider, target);
      // 2. claim
      const claim: CommandLifeCommand = { type: 'StartTask', data: { task_id, attempt, executor_id: deps.executorId }, metadata: metadata() };
      const started = await handleCommand(deps.store, commandLifeDecider, target, claim, { ...options, known: loaded, maxTries: 1 });
      if (started.state.status !== 'running' || started.events.length === 0) return 'skipped';
      const { command } = started.state;
      // 3. run
      const execution = await executeHandler(
        deps.catalog,
        command,
        { tenant, correlation_id, command_id, task_id, attempt, logger: deps.logger },
        { timeoutMs: deps.taskTimeoutMs, shutdown, now: () => performance.now() },
      );
      // 4. record
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
      await handleCommand(deps.store, commandLifeDecider, target, outcome, { ...options, known: started });
      if (!execution.ok) deps.logger.warn({ error: execution.error, attempt }, 'task failed');
      return execution.ok ? 'succeeded' : 'failed';
    } catch (error) {
      if (isLostRace(error)) {
        deps.logger.debug({ err: error }, 'task skipped: the log moved on');
        return 'skipped';
      }
      throw error;
    }
  });
}

/** Records an attempt whose executor vanished (a crash, a kill) as failed, so it is retried. */
export function abandonTask(deps: TaskRunnerDeps, ref: TaskRef, reason: string): Promise<void> {
  const { correlation_id, command_id, task_id, attempt, tenant } = ref;
  return withLogContext({ correlation_id, command_id, task_id }, async () => {
    const command: CommandLifeCommand = {
      type: 'FailTask',
      data: {
        task_id,
        attempt,
        error: { code: 'WORKER_LOST', message: reason },
        retryable: true,
        retry_policy: deps.retryPolicy,
        jitter: deps.random(),
      },
      metadata: { now: deps.now(), correlation_id, actor: deps.executorId },
    };
    try {
      await handleCommand(deps.store, commandLifeDecider, { tenant, stream: commandStream(command_id) }, command, { newEventId: deps.newEventId });
      deps.logger.warn({ attempt }, 'task abandoned by a lost executor: recorded as failed');
    } catch (error) {
      if (!isLostRace(error)) throw error;
    }
  });
}
