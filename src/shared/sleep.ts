/** Resolves after `ms` (earlier if `signal` aborts); never keeps the process alive by itself. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms).unref();
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
