import { existsSync } from 'node:fs';
import { ConfigError, loadConfig } from './config.js';
import { startWorker, type RunningWorker } from './worker-process.js';

function fail(message: string): never {
  process.stderr.write(`NEXUS worker cannot start: ${message}\n`);
  process.exit(1);
}

if (existsSync('.env')) process.loadEnvFile('.env');
let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  fail(error.message);
}

let worker: RunningWorker;
try {
  worker = await startWorker(config);
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    process.once(signal, () => process.exit(1));
    worker.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`NEXUS worker stopped with an error: ${String(error)}\n`);
        process.exit(1);
      },
    );
  });
}
