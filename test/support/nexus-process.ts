import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { API_KEY, ADMIN_KEY } from './nexus.js';

const root = resolve(import.meta.dirname, '..', '..');
const tsx = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

export interface NexusProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Every log line the process wrote, parsed. */
  readonly logs: Array<Record<string, unknown>>;
  readonly exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/**
 * NEXUS as its own process (`src/main.ts`), for what only a process can show: kill -9,
 * SIGTERM, restarts. It runs in an empty folder so no developer's `.env` leaks in.
 */
export function spawnNexus(env: Record<string, string>): Promise<NexusProcess> {
  const cwd = mkdtempSync(join(tmpdir(), 'nexus-proc-'));
  const child = spawn(process.execPath, ['--import', tsx, join(root, 'src', 'main.ts')], {
    cwd,
    env: {
      PATH: process.env.PATH,
      NEXUS_API_KEY: API_KEY,
      ADMIN_API_KEY: ADMIN_KEY,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      RATE_LIMIT_PER_SECOND: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return new Promise((resolvePromise, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === 'NEXUS is serving') {
          resolvePromise({
            url: String(entry.url),
            child,
            logs,
            exited,
            kill: (signal) => {
              child.kill(signal);
              return exited;
            },
          });
        }
      } catch {
        logs.push({ raw: line });
      }
    });
    void exited.then((code) => reject(new Error(`NEXUS exited with ${code} before serving: ${stderr}`)));
  });
}
