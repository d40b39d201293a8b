import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Fields every log line written inside a request or a task carries. */
export interface LogContext {
  correlation_id?: string;
  command_id?: string;
  task_id?: string;
}

const logContext = new AsyncLocalStorage<LogContext>();

/**
 * JSON logs (pino) that pick up the correlation id of the request or task they are written
 * in, so every line of one command can be found with one grep.
 *
 * @example
 *   const logger = createLogger({ level: 'info' });
 *   await withLogContext({ correlation_id: 'c-1' }, async () => logger.info('accepted'));
 */
export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'nexus' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: () => ({ ...logContext.getStore() }),
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}

export function withLogContext<T>(context: LogContext, run: () => T): T {
  return logContext.run({ ...logContext.getStore(), ...context }, run);
}

/** Refines the context of the current request once its body names the command. */
export function refineLogContext(context: LogContext): void {
  const current = logContext.getStore();
  if (current) Object.assign(current, context);
}
