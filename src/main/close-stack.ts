import type { Logger } from '../observability/logger.js';

/**
 * What a process started, to be stopped in the reverse order: on a graceful stop, and also when
 * start-up fails half-way (what did start is stopped, so the failure leaves nothing running).
 * One step that fails is logged and the others still run.
 *
 * @example
 *   const closing = new CloseStack(logger);
 *   const store = await openStore();
 *   closing.defer('event store', () => store.close());
 *   await closing.close();
 */
export class CloseStack {
  private readonly steps: Array<{ readonly name: string; readonly run: () => unknown }> = [];
  private closing: Promise<void> | undefined;

  constructor(private readonly logger: Pick<Logger, 'error'>) {}

  defer(name: string, run: () => unknown): void {
    this.steps.push({ name, run });
  }

  /** Runs every step, last deferred first; once, however often it is called. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      for (const { name, run } of this.steps.reverse()) {
        try {
          await run();
        } catch (error) {
          this.logger.error({ err: error }, `stopping ${name} failed`);
        }
      }
    })());
  }

  /**
   * Runs `start` and returns what it gives; if it throws, closes what had started and throws
   * its error.
   */
  async unwindOnFailure<T>(start: () => Promise<T>): Promise<T> {
    try {
      return await start();
    } catch (error) {
      await this.close();
      throw error;
    }
  }
}
