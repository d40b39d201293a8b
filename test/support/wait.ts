import { setTimeout as pause } from 'node:timers/promises';

/**
 * Re-checks an observable condition until it holds. For state that has no push notification
 * (another process's gauges, a file on disk); streams use `SseClient.until` instead.
 */
export async function waitUntil(
  condition: () => Promise<boolean> | boolean,
  options: { timeoutMs?: number; what?: string } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? 'a condition'}`);
    await pause(20);
  }
}
