import { existsSync } from 'node:fs';
import { ConfigError, loadConfig } from './config.js';
import { startNexus, type RunningNexus } from './nexus.js';

function fail(message: string): never {
  process.stderr.write(`NEXUS cannot start: ${message}\n`);
  process.exit(1);
}

// 1. configuration: the environment, plus a .env file in the working directory if there is one
if (existsSync('.env')) process.loadEnvFile('.env');
let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  fail(error.message);
}

// 2. serve
let nexus: RunningNexus;
try {
  nexus = await startNexus(config);
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}

// 3. graceful shutdown: a second signal stops at once
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    process.once(signal, () => process.exit(1));
    nexus.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`NEXUS stopped with an error: ${String(error)}\n`);
        process.exit(1);
      },
    );
  });
}
