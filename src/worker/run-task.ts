import type { Catalog } from '../catalog/catalog.js';
import { TaskFailure, type TenantMemory } from '../catalog/define-command.js';
import type { Tenant } from '../events/tenant.js';
import { commandLifeDecider, type CommandLifeCommand, type CommandLifeState } from '../commands/command-life.js';
import type { CommandMetadata } from '../commands/decider.js';
import { AskNotPendingError, StaleAttemptError, TaskNotRunnableError } from '../commands/errors.js';
import { handleCommand, type Handled } from '../commands/handle-command.js';
import type { RetryPolicy } from '../commands/retry-policy.js';
import type { TriagePolicy } from '../commands/decide-triage.js';
import { llmAccess } from '../llm/llm-access.js';
import type { LlmMeter } from '../llm/llm-meter.js';
import type { LlmRouter } from '../llm/router.js';
import { commandStream } from '../events/command-events.js';
import type { Logger } from '../observability/logger.js';
import type { PendingTask } from '../projections/pending-tasks.js';
import { ConcurrencyError, type EventStore, type ExpectedRevision } from '../store/event-store.js';
import { executeHandler, prepareRun, type Execution, type RunningHandler } from './execute-handler.js';
import { taskProgress } from './task-progress.js';
import { payloadHash } from '../shared/ids.js';

export interface TaskRunnerDeps {
  readonly store: EventStore;
  /** The tenant memory handlers get. */
  readonly memory: (scope: { tenant: Tenant; correlation_id: string; actor: string }) => TenantMemory;
  readonly catalog: Catalog;
  readonly executorId: string;
  readonly retryPolicy: RetryPolicy;
  readonly taskTimeoutMs: number;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly newEventId: () => string;
  /** In [0, 1): the jitter of retry delays. */
  readonly random: () => number;
  /** What becomes of dead-lettered tasks, by failure code. */
  readonly triage: TriagePolicy;
  /** The LLMs handlers may call (router and meter); absent: their calls fail with HANDLER_UNAVAILABLE. */
  readonly llm?: { readonly router: LlmRouter; readonly meter: LlmMeter };
}

/** What an attempt left in the log: its result, an ask's warning or expiry, or nothing (`skipped`). */
export type TaskOutcome = 'succeeded' | 'failed' | 'warned' | 'expired' | 'triaged' | 'skipped';

type Known = { readonly state: CommandLifeState; readonly revision: ExpectedRevision };

/** The log moved on while we decided: another outcome is already there. */
const isLostRace = (error: unknown): boolean =>
  error instanceof ConcurrencyError ||
  error instanceof TaskNotRunnableError ||
  error instanceof StaleAttemptError ||
  error instanceof AskNotPendingError;

/**
 * A handler that answers within this long has its claim and its outcome recorded in one
 * append; a slower one has its claim recorded first, so the feed shows it running.
 */
const QUICK_TASK_MS = 10;

const within = <T>(promise: Promise<T>, ms: number): Promise<T | undefined> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms))),
  ]).finally(() => clearTimeout(timer));
};

/** One command's stream, as the runner works on it. */
function onTask(deps: TaskRunnerDeps, task: PendingTask) {
  let logger: Logger | undefined;
  const command = 'command' in task.state ? task.state.command : undefined;
  return {
    metadata: (): CommandMetadata => ({ now: deps.now(), correlation_id: task.correlation_id, actor: deps.executorId }),
    /** Decides and appends, from `known` (the task as the dispatcher saw it) and once more from the log on a conflict. */
    record: (
      commands: CommandLifeCommand | CommandLifeCommand[],
      known: Known = task,
    ): Promise<Handled<CommandLifeState>> =>
      handleCommand(
        deps.store,
        commandLifeDecider,
        { tenant: task.tenant, stream: commandStream(task.command_id) },
        commands,
        {
          newEventId: deps.newEventId,
          known,
          maxTries: 2,
        },
      ),
    /** Made on first use (most tasks log nothing): every line names its correlation id, command and task. */
    logger: (): Logger =>
      (logger ??= deps.logger.child({
        correlation_id: task.correlation_id,
        command_id: task.command_id,
        task_id: command?.task_id,
      })),
  };
}

/** `action`'s outcome, or `skipped` when the log had moved on. */
async function unlessLostRace(action: () => Promise<TaskOutcome>, logger: () => Logger): Promise<TaskOutcome> {
  try {
    return await action();
  } catch (error) {
    if (!isLostRace(error)) throw error;
    logger().debug({ err: error }, 'skipped: the log moved on');
    return 'skipped';
  }
}

/**
 * Runs one attempt of a task, the log deciding at every step. The dispatcher's claim makes
 * this executor the only one running the attempt; the log is the fence: the outcome is
 * appended at the revision the claim was decided on, together with the claim or after it, and
 * the decider refuses it if the stream has moved to another attempt or executor meanwhile.
 * Returns `skipped` when the log had moved on.
 */
export function runTask(deps: TaskRunnerDeps, task: PendingTask, shutdown: AbortSignal): Promise<TaskOutcome> {
  const { state, tenant, correlation_id } = task;
  if (state.status !== 'queued' && state.status !== 'retry_scheduled') return Promise.resolve('skipped');
  const { command_id, task_id } = state.command;
  const attempt = state.attempt;
  const { metadata, record, logger } = onTask(deps, task);
  return unlessLostRace(async () => {
    // 1. claim, decided now: a task that cannot start is not run. A command that needed an
    //    approval names the payload it is about to run — its params as the handler will get
    //    them from this catalog's schema —, which must be the approved one.
    const prepared = prepareRun(deps.catalog, state.command);
    const runs = prepared.ok ? (prepared.params as Record<string, unknown>) : undefined;
    const payload_hash =
      state.command.approved_hash === undefined || runs === undefined
        ? undefined
        : payloadHash(state.command.command_type, runs);
    const claim: CommandLifeCommand = {
      type: 'StartTask',
      data: { task_id, attempt, executor_id: deps.executorId, payload_hash },
      metadata: metadata(),
    };
    const claimed = commandLifeDecider.decide(claim, state);
    if (claimed.length === 0) return 'skipped';
    if (claimed[0]!.type !== 'TaskStarted') {
      await record(claim);
      logger().error({ attempt }, 'refused to run: the payload is not the one that was approved');
      return 'failed';
    }
    // 2. run. A handler that reports progress has its claim recorded first.
    let claiming: Promise<Known> | undefined;
    const recordClaim = (): Promise<Known> =>
      (claiming ??= record(claim).catch((error: unknown) => {
        running.cancel(new TaskFailure('CLAIM_LOST', 'another executor took this attempt'));
        throw error;
      }));
    const progress = taskProgress({
      store: deps.store,
      tenant,
      ids: { command_id, task_id, command_type: state.command.command_type },
      attempt,
      correlation_id,
      actor: deps.executorId,
      now: deps.now,
      newEventId: deps.newEventId,
      claimed: recordClaim,
    });
    const running: RunningHandler = executeHandler(
      prepared,
      (signal) => ({
        tenant,
        command_type: state.command.command_type,
        correlation_id,
        command_id,
        task_id,
        attempt,
        signal,
        get memory() {
          // A write shows in the log after the task's start, like any effect of the task.
          const memory = deps.memory({ tenant, correlation_id, actor: deps.executorId });
          return {
            get: memory.get,
            all: memory.all,
            set: async (key: string, value: unknown) => (await recordClaim(), memory.set(key, value)),
            delete: async (key: string) => (await recordClaim(), memory.delete(key)),
          };
        },
        get logger() {
          return logger();
        },
        progress,
        get llm() {
          return llmAccess(deps.llm?.router, deps.llm?.meter, this);
        },
      }),
      { timeoutMs: deps.taskTimeoutMs, shutdown, now: () => performance.now() },
    );
    try {
      let recorded: Known | undefined;
      if ((await within(running.done, QUICK_TASK_MS)) === undefined || claiming) recorded = await recordClaim();
      const execution = await running.done;
      // 3. record the outcome (with the claim, for a quick task)
      const outcome = outcomeOf(execution, { task_id, attempt }, deps, metadata());
      await (recorded ? record(outcome, recorded) : record([claim, outcome]));
      if (!execution.ok) logger().warn({ error: execution.error, attempt }, 'task failed');
      return execution.ok ? 'succeeded' : 'failed';
    } finally {
      // However this attempt ends, its slot stays taken (and its command busy) until the
      // handler's own code has stopped: a handler that ignored its abort must not run twice.
      await running.settled;
    }
  }, logger);
}

function outcomeOf(
  execution: Execution,
  { task_id, attempt }: { task_id: string; attempt: number },
  deps: TaskRunnerDeps,
  metadata: CommandMetadata,
): CommandLifeCommand {
  if (execution.ok) {
    return {
      type: 'CompleteTask',
      data: { task_id, attempt, result: execution.result, duration_ms: execution.duration_ms },
      metadata,
    };
  }
  return {
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
    metadata,
  };
}

/**
 * Records an attempt the log shows running but nobody runs (its executor crashed, or could not
 * record the outcome) as failed, so it is retried.
 */
export function abandonTask(deps: TaskRunnerDeps, task: PendingTask, reason: string): Promise<TaskOutcome> {
  const { state } = task;
  if (state.status !== 'running') return Promise.resolve('skipped');
  const { metadata, record, logger } = onTask(deps, task);
  return unlessLostRace(async () => {
    const error = { code: 'WORKER_LOST', message: reason };
    const { task_id } = state.command;
    await record({
      type: 'FailTask',
      data: {
        task_id,
        attempt: state.attempt,
        error,
        retryable: true,
        retry_policy: deps.retryPolicy,
        jitter: deps.random(),
      },
      metadata: metadata(),
    });
    logger().warn({ attempt: state.attempt }, 'task abandoned by a lost executor: recorded as failed');
    return 'failed';
  }, logger);
}

/**
 * What is due for an ask nobody decided yet: a warning shortly before its expiry, then the
 * expiry itself (the command will never run).
 */
export function timeOutAsk(deps: TaskRunnerDeps, task: PendingTask): Promise<TaskOutcome> {
  const { state } = task;
  if (state.status !== 'awaiting_approval') return Promise.resolve('skipped');
  const { ask_id } = state.ask;
  const { metadata, record, logger } = onTask(deps, task);
  const expiring =
    !state.ask.warned && state.ask.warn_at !== undefined && deps.now().getTime() < Date.parse(state.ask.expires_at);
  return unlessLostRace(async () => {
    if (expiring) {
      await record({ type: 'WarnAskExpiry', data: { ask_id }, metadata: metadata() });
      return 'warned';
    }
    await record({ type: 'ExpireAsk', data: { ask_id }, metadata: metadata() });
    logger().info({ ask_id }, 'ask expired without a decision');
    return 'expired';
  }, logger);
}

/** Triage of a dead-lettered task by its failure code: requeue, hold, alarm or keep. */
export function triageTask(deps: TaskRunnerDeps, task: PendingTask): Promise<TaskOutcome> {
  const { state } = task;
  if (state.status !== 'dead_lettered' || state.triage !== 'pending') return Promise.resolve('skipped');
  const { metadata, record, logger } = onTask(deps, task);
  return unlessLostRace(async () => {
    const { events } = await record({
      type: 'TriageDeadLetter',
      data: { task_id: state.command.task_id, policy: deps.triage },
      metadata: metadata(),
    });
    for (const event of events) {
      if (event.type === 'DeadLetterTriaged')
        logger().warn({ action: event.data.action, code: state.error.code }, 'dead-lettered task triaged');
    }
    return 'triaged';
  }, logger);
}
