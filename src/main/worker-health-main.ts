// The worker container's health check: healthy while its heartbeat is fresh (three beats).
import { existsSync, statSync } from 'node:fs';
import { loadConfig } from '../config/load-config.js';
import { HEARTBEAT_FILE } from '../distributed/heartbeat-file.js';

try {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const beatMs = loadConfig(process.env).WORKER_HEARTBEAT_SECONDS * 1000;
  process.exit(Date.now() - statSync(HEARTBEAT_FILE).mtimeMs < beatMs * 3 ? 0 : 1);
} catch {
  process.exit(1);
}
