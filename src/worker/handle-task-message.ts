import type { Redis } from 'ioredis';
import { NotNowError, type TaskMessage } from '../distributed/task-message.js';
import type { TaskLeases } from '../distributed/redis/task-leases.js';
import { presumedDead } from '../distributed/redis/worker-presence.js';
import { AUTOPILOT_STREAM } from '../events/tenant-events.js';
import { tenantKey, type Tenant } from '../events/tenant.js';
import { taskKey, type PendingTask } from '../projections/pending-tasks.js';
import { loadTask } from './load-task.js';
import { abandonTask, runTask, type TaskOutcome, type TaskRunnerDeps } from './run-task.js';
import { sleep } from '../shared/sleep.js';

export interface TaskMessageDeps extends TaskRunnerDeps {
  readonly redis: Redis;
  readonly leases: TaskLeases;
  readonly leaseTtlMs: number;
  readonly heartbeatMs: number;
  /** Aborts when the worker shuts down: running handlers are cancelled (and retried). */
  readonly shutdown: AbortSignal;
}

/** How long a worker trusts what it read of a tenant's autopilot. */
const PAUSE_CACHE_MS = 500;

const isRunnable = (task: PendingTask, attempt: number): boolean =>
  (task.state.status === 'queued' || task.state.status === 'retry_scheduled') && task.state.attempt === attempt;

const isOver = (task: PendingTask, attempt: number): boolean => {
  const { state } = task;
  if (state.status === 'queued' || state.status === 'retry_scheduled' || state.status === 'running')
    return state.attempt > attempt;
  return state.status !== 'absent';
};

/**
 * A worker's handling of task messages. Messages for one command are handled one at a time in
 * this process (a redelivered copy waits for the run in hand), under the command's Redis lease
 * across processes, and every decision is the log's: run the attempt, record an attempt whose
 * worker died as lost (it is then retried), or nothing if the log has moved on. `handle`
 * resolves when the message can be acked; it throws `NotNowError` (or any error) when it must
 * go back to the queue.
 */
export class TaskMessageHandler {
  private readonly inHand = new Map<string, Promise<unknown>>();
  private readonly pauses = new Map<string, { paused: boolean; readAt: number }>();

  constructor(private readonly deps: TaskMessageDeps) {}

  async handle(message: TaskMessage): Promise<TaskOutcome> {
    const key = taskKey(message.tenant, message.command_id);
    for (let earlier = this.inHand.get(key); earlier; earlier = this.inHand.get(key))
      await earlier.catch(() => undefined);
    const handling = this.leased(message);
    this.inHand.set(key, handling);
    try {
      return await handling;
    } finally {
      if (this.inHand.get(key) === handling) this.inHand.delete(key);
    }
  }

  private async leased(message: TaskMessage): Promise<TaskOutcome> {
    const { deps } = this;
    const { tenant, command_id, correlation_id } = message;
    for (;;) {
      if (deps.shutdown.aborted) throw new NotNowError('shutting down: the message goes back to the queue');
      const leased = await deps.leases.acquire(tenant, command_id).catch((error: unknown) => {
        deps.logger.warn({ err: error, command_id }, 'no lease (Redis unreachable); waiting');
        return undefined;
      });
      if (leased) break;
      // Someone else holds it: if the log shows this attempt over, there is nothing to do.
      if (leased === false && isOver(await loadTask(deps.store, tenant, command_id, correlation_id), message.attempt))
        return 'skipped';
      await sleep(Math.min(deps.heartbeatMs, 1000));
    }
    // Losing the lease (another worker took it, or it could not be renewed for most of its
    // life) cancels the run: another worker may be about to start the task.
    const leaseLost = new AbortController();
    let renewedAt = Date.now();
    const renewal = setInterval(() => {
      deps.leases.renew(tenant, command_id).then(
        (kept) => {
          if (kept) renewedAt = Date.now();
          else leaseLost.abort(new Error('another worker holds the lease'));
        },
        () => {
          if (Date.now() - renewedAt > deps.leaseTtlMs * 0.8)
            leaseLost.abort(new Error('the lease could not be renewed'));
        },
      );
    }, deps.leaseTtlMs / 3);
    try {
      return await this.act(message, AbortSignal.any([deps.shutdown, leaseLost.signal]));
    } finally {
      clearInterval(renewal);
      await deps.leases.release(tenant, command_id).catch(() => undefined);
    }
  }

  /** With the lease in hand and no other run of this command in this process. */
  private async act(message: TaskMessage, signal: AbortSignal): Promise<TaskOutcome> {
    const { deps } = this;
    const { tenant, command_id, correlation_id } = message;
    const task = await loadTask(deps.store, tenant, command_id, correlation_id);
    const { state } = task;
    if (state.status === 'queued' || state.status === 'retry_scheduled') {
      if (!deps.catalog.has(state.command.command_type))
        throw new NotNowError(`this worker cannot run ${state.command.command_type}`);
      // A paused tenant's tasks already in the queue wait: the supervisor publishes them again on resume.
      if (await this.paused(tenant)) return 'skipped';
      if (state.status === 'retry_scheduled')
        await sleep(Math.max(0, Date.parse(state.retry_at) - deps.now().getTime() + 5));
      const { attempt } = state;
      const outcome = await runTask(deps, task, signal);
      // Acked only once the log moved on; a task still runnable goes back to the queue.
      if (
        outcome === 'skipped' &&
        isRunnable(await loadTask(deps.store, tenant, command_id, correlation_id), attempt)
      ) {
        throw new NotNowError(`task ${command_id} is still due`);
      }
      return outcome;
    }
    if (state.status === 'running') {
      // No run of it is in hand here (messages of one command wait for each other), so a run
      // the log shows as ours is over; another worker's is over once that worker is dead.
      const mine = state.executor_id === deps.executorId;
      if (!mine && !(await presumedDead(deps.redis, state.executor_id, deps.heartbeatMs, deps.shutdown))) {
        throw new NotNowError(`task ${command_id} is running on ${state.executor_id}, which is alive`);
      }
      return abandonTask(deps, task, `worker ${state.executor_id} stopped before it recorded an outcome`);
    }
    return 'skipped';
  }

  private async paused(tenant: Tenant): Promise<boolean> {
    const key = tenantKey(tenant);
    const known = this.pauses.get(key);
    if (known && Date.now() - known.readAt < PAUSE_CACHE_MS) return known.paused;
    const events = await this.deps.store.readStream(tenant, AUTOPILOT_STREAM);
    const paused = events.at(-1)?.type === 'AutopilotPaused';
    this.pauses.set(key, { paused, readAt: Date.now() });
    if (this.pauses.size > 10_000) this.pauses.delete(this.pauses.keys().next().value!);
    return paused;
  }
}
