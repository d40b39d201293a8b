import { existsSync } from 'node:fs';
import { ConfigError, loadConfig, type Config } from '../config/load-config.js';

/**
 * A process's life: configuration (the environment, plus a `.env` file in the working
 * directory if there is one), start, and a graceful stop on SIGTERM or SIGINT (a second signal
 * stops at once). A bad configuration or a failed start exits 1 with `<name> cannot start: …`.
 */
export async function runProcess(
  name: string,
  start: (config: Config) => Promise<{ stop(): Promise<void> }>,
): Promise<void> {
  const fail = (message: string): never => {
    process.stderr.write(`${name} cannot start: ${message}\n`);
    process.exit(1);
  };
  if (existsSync('.env')) process.loadEnvFile('.env');
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return fail(error.message);
  }
  let running: { stop(): Promise<void> };
  try {
    running = await start(config);
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      process.once(signal, () => process.exit(1));
      running.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          process.stderr.write(`${name} stopped with an error: ${String(error)}\n`);
          process.exit(1);
        },
      );
    });
  }
}
