import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where a worker's health check finds its last heartbeat (inside its own container). */
export const HEARTBEAT_FILE = join(tmpdir(), 'nexus-worker.heartbeat');
