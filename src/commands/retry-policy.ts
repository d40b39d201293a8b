export interface RetryPolicy {
  /** Retries after the first attempt; `max_retries + 1` attempts in all. */
  readonly max_retries: number;
  readonly base_delay_ms: number;
  readonly max_delay_ms: number;
}

/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half is random, so
 * retries of many tasks failing together spread out. `jitter` is a number in [0, 1).
 */
export function retryDelayMs(failedAttempt: number, policy: RetryPolicy, jitter: number): number {
  const exponential = Math.min(policy.max_delay_ms, policy.base_delay_ms * 2 ** (failedAttempt - 1));
  return Math.round(exponential / 2 + (exponential / 2) * jitter);
}
