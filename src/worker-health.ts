// The worker container's health check: healthy while its heartbeat is fresh (three beats).
import { statSync } from 'node:fs';
import { HEARTBEAT_FILE } from './distributed/heartbeat-file.js';

const beatSeconds = Number(process.env.WORKER_HEARTBEAT_SECONDS ?? 5) || 5;
try {
  const age = Date.now() - statSync(HEARTBEAT_FILE).mtimeMs;
  process.exit(age < beatSeconds * 3000 ? 0 : 1);
} catch {
  process.exit(1);
}
