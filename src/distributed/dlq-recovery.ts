import type { Redis } from 'ioredis';
import { loadTask } from '../worker/load-task.js';
import { abandonTask, triageTask, type TaskRunnerDeps } from '../worker/run-task.js';
import type { Delivery } from './rabbitmq/queue-consumer.js';
import { NotNowError, type TaskMessage } from './task-message.js';
import { presumedDead } from './redis/worker-presence.js';

export interface DeadLetterDeps extends TaskRunnerDeps {
  /** Where workers' heartbeats are. */
  readonly redis: Redis;
  /** The workers' heartbeat period (`WORKER_HEARTBEAT_SECONDS`). */
  readonly heartbeatMs: number;
  /** Cuts short the wait for a worker's last heartbeat (the message then goes back to the queue). */
  readonly shutdown?: AbortSignal;
}

/**
 * What became of a message from `DLQ_QUEUE`: its task triaged, its lost attempt recorded
 * (`abandoned`), left to the dispatcher (`due`), or nothing to do (`finished`).
 */
export type DeadLetterOutcome = 'triaged' | 'abandoned' | 'due' | 'finished';

const neverAborted = new AbortController().signal;

/**
 * Recovers what a message in `DLQ_QUEUE` stands for, from what the log says of its task now.
 * The supervisor publishes there the tasks the log dead-lettered; RabbitMQ moves there a task
 * message delivered more than `RABBITMQ_DELIVERY_LIMIT` times (`delivery.deadLettered`), which
 * the log may show in any state:
 *
 * - dead-lettered, triage pending: triaged by its failure code;
 * - running on a worker that is gone (no heartbeat): the attempt is recorded as lost
 *   (`WORKER_LOST`), then retried up to `MAX_RETRIES` or dead-lettered, and the dispatcher
 *   publishes what follows;
 * - running on a live worker: `NotNowError`, the message goes back to the DLQ and is looked at
 *   again until the worker records an outcome or is gone (it may be the task's last message);
 * - queued or retrying: nothing. The dispatcher publishes a due task again on its own schedule;
 *   publishing it here at once would bounce a task no worker takes between the two queues;
 * - anything else (finished, held, unknown to the log): nothing.
 *
 * Resolves when the message can be acked.
 *
 * @example
 *   handle: (message, delivery) => recoverDeadLetter({ ...runnerDeps, redis, heartbeatMs }, message, delivery)
 */
export async function recoverDeadLetter(
  deps: DeadLetterDeps,
  message: TaskMessage,
  delivery: Delivery = {},
): Promise<DeadLetterOutcome> {
  const task = await loadTask(deps.store, message.tenant, message.command_id, message.correlation_id);
  const { state } = task;
  const logger = deps.logger.child({ correlation_id: task.correlation_id, command_id: task.command_id });
  const why = delivery.deadLettered
    ? { dead_lettered_by: 'rabbitmq', reason: delivery.deadLettered.reason, from: delivery.deadLettered.queue }
    : {};
  switch (state.status) {
    case 'dead_lettered':
      return (await triageTask(deps, task)) === 'triaged' ? 'triaged' : 'finished';
    case 'running': {
      const gone = await presumedDead(deps.redis, state.executor_id, deps.heartbeatMs, deps.shutdown ?? neverAborted);
      if (!gone) throw new NotNowError(`task ${task.command_id} is running on ${state.executor_id}, which is alive`);
      logger.warn(
        { ...why, attempt: state.attempt, executor_id: state.executor_id },
        'dead letter of a task running on a lost worker: recording the attempt as lost',
      );
      const outcome = await abandonTask(
        deps,
        task,
        `worker ${state.executor_id} stopped before it recorded an outcome`,
      );
      return outcome === 'failed' ? 'abandoned' : 'finished';
    }
    case 'queued':
    case 'retry_scheduled':
      logger.warn(
        { ...why, attempt: state.attempt, command_type: state.command.command_type },
        'dead letter of a task still due: no worker took it; the supervisor publishes it again later',
      );
      return 'due';
    default:
      logger.debug({ ...why, status: state.status }, 'dead letter of a task with nothing left to do');
      return 'finished';
  }
}
