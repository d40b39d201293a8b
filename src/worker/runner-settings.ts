import type { Config } from '../config/load-config.js';
import type { TaskRunnerDeps } from './run-task.js';

/** What the configuration says about running tasks: retries, timeout, triage. */
export function runnerSettings(config: Config): Pick<TaskRunnerDeps, 'retryPolicy' | 'taskTimeoutMs' | 'triage'> {
  return {
    retryPolicy: {
      max_retries: config.MAX_RETRIES,
      base_delay_ms: config.RETRY_BASE_DELAY_MS,
      max_delay_ms: config.RETRY_MAX_DELAY_MS,
    },
    taskTimeoutMs: config.TASK_TIMEOUT_SECONDS * 1000,
    triage: {
      requeue: config.AUTO_REQUEUE_FAILURE_CODES,
      hold: config.AUTO_HOLD_FAILURE_CODES,
      alarm: config.AUTO_ALARM_FAILURE_CODES,
      max_requeues: config.AUTO_REQUEUE_MAX,
      ask_terms: { ttl_seconds: config.ASK_TTL_SECONDS, warning_seconds: config.ASK_EXPIRY_WARNING_SECONDS },
    },
  };
}
