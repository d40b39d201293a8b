/**
 * Wakes everyone waiting for "something was committed". Waiters share one promise per
 * generation, so a commit costs one resolution however many subscriptions wait.
 */
export class CommitSignal {
  private resolveCurrent!: () => void;
  private current: Promise<void> = this.renew();

  /** Resolves at the next `fire()`, or as soon as `signal` aborts. */
  next(signal?: AbortSignal): Promise<void> {
    if (!signal) return this.current;
    if (signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const onAbort = (): void => resolve();
      signal.addEventListener('abort', onAbort, { once: true });
      void this.current.then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  fire(): void {
    const resolve = this.resolveCurrent;
    this.current = this.renew();
    resolve();
  }

  private renew(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.resolveCurrent = resolve;
    });
  }
}
