import type { Redis } from 'ioredis';
import type { TaskMessage } from '../distributed/task-message.js';
import type { TaskLeases } from '../distributed/task-leases.js';
import { presumedDead } from '../distributed/worker-presence.js';
import type { PendingTask } from '../projections/pending-tasks.js';
import { loadTask } from './load-task.js';
import { abandonTask, runTask, type TaskOutcome, type TaskRunnerDeps } from './run-task.js';

export interface TaskMessageDeps extends TaskRunnerDeps {
  readonly redis: Redis;
  readonly leases: TaskLeases;
  readonly leaseTtlMs: number;
  readonly heartbeatMs: number;
  /** Aborts when the worker shuts down: running handlers are cancelled (and retried). */
  readonly shutdown: AbortSignal;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

const isOver = (task: PendingTask, attempt: number): boolean => {
  const { state } = task;
  if (state.status === 'queued' || state.status === 'retry_scheduled' || state.status === 'running') return state.attempt > attempt;
  return state.status !== 'absent';
};

/**
 * What a worker does with one task message: take the task's lease (waiting while a live worker
 * holds it), read the command's life from the log, and act on what the log says: run the
 * attempt, record an attempt whose worker died as lost (it is then retried), or nothing if the
 * log has moved on. Resolves when the message can be acked.
 */
export async function handleTaskMessage(deps: TaskMessageDeps, message: TaskMessage): Promise<TaskOutcome> {
  const { tenant, command_id, correlation_id } = message;
  for (;;) {
    if (deps.shutdown.aborted) throw new Error('shutting down: the message goes back to the queue');
    const leased = await deps.leases.acquire(tenant, command_id).catch((error: unknown) => {
      deps.logger.warn({ err: error, command_id }, 'no lease (Redis unreachable); waiting');
      return undefined;
    });
    if (leased) break;
    // Someone else holds it: if the log shows this attempt over, there is nothing to do.
    if (leased === false && isOver(await loadTask(deps.store, tenant, command_id, correlation_id), message.attempt)) return 'skipped';
    await sleep(Math.min(deps.heartbeatMs, 1000));
  }
  const renewal = setInterval(() => {
    deps.leases.renew(tenant, command_id).then(
      (kept) => kept || deps.logger.warn({ command_id, correlation_id }, 'lost the task lease; the log will refuse a stale result'),
      () => undefined,
    );
  }, deps.leaseTtlMs / 3);
  try {
    const task = await loadTask(deps.store, tenant, command_id, correlation_id);
    const { state } = task;
    if (state.status === 'queued' || state.status === 'retry_scheduled') {
      if (state.status === 'retry_scheduled') await sleep(Math.max(0, Date.parse(state.retry_at) - deps.now().getTime()));
      return await runTask(deps, task, deps.shutdown);
    }
    if (state.status === 'running') {
      // With the lease in hand, a run of ours is over; another worker's may not be.
      const mine = state.executor_id === deps.executorId;
      if (!mine && !(await presumedDead(deps.redis, state.executor_id, deps.heartbeatMs, deps.shutdown))) {
        throw new Error(`task ${command_id} is running on ${state.executor_id}, which is alive`);
      }
      return await abandonTask(deps, task, `worker ${state.executor_id} stopped before it recorded an outcome`);
    }
    return 'skipped';
  } finally {
    clearInterval(renewal);
    await deps.leases.release(tenant, command_id).catch(() => undefined);
  }
}
