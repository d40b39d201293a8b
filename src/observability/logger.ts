import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * JSON logs (pino). Code that works for one request or one task logs through a child that
 * carries its correlation id (`logger.child({ correlation_id })`), so every line of one command
 * can be found with one grep. The id is passed explicitly rather than through
 * AsyncLocalStorage, whose promise hooks cost Node 20 close to half its request throughput.
 *
 * @example
 *   const logger = createLogger({ level: 'info' });
 *   logger.child({ correlation_id: 'c-1' }).info('accepted');
 */
export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'nexus' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}
