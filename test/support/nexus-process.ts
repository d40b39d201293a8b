import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { API_KEY, ADMIN_KEY } from './nexus.js';
import { waitUntil } from './wait.js';

const root = resolve(import.meta.dirname, '..', '..');
const tsx = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

/** Runs `src/main/supervisor-main.ts` to its exit, for start-up failures: its exit code and stderr. */
export function runNexusToExit(
  env: Record<string, string>,
  options: { dotenv?: string } = {},
): Promise<{ code: number | null; stderr: string }> {
  const cwd = mkdtempSync(join(tmpdir(), 'nexus-proc-'));
  if (options.dotenv !== undefined) writeFileSync(join(cwd, '.env'), options.dotenv);
  const child = spawn(process.execPath, ['--import', tsx, join(root, 'src', 'main', 'supervisor-main.ts')], {
    cwd,
    env: { PATH: process.env.PATH, LOG_LEVEL: 'silent', PORT: '0', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // It is expected to stop by itself; one that serves instead is stopped, and the test fails.
  const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolveExit) =>
    child.once('exit', (code) => {
      clearTimeout(guard);
      resolveExit({ code, stderr });
    }),
  );
}

export interface NexusProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Every log line the process wrote, parsed. */
  readonly logs: Array<Record<string, unknown>>;
  readonly exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/** A child's JSON log lines (parsed), its stderr and its exit. */
function watch(child: ChildProcess) {
  const logs: Array<Record<string, unknown>> = [];
  const output: { stderr: string; exitCode?: number | null } = { stderr: '' };
  child.stderr!.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      logs.push({ raw: line });
    }
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done((output.exitCode = code))));
  return { logs, output, exited };
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolvePort(port));
    });
  });
}

/**
 * NEXUS as its own process (`src/main/supervisor-main.ts`), for what only a process can show: kill -9,
 * SIGTERM, restarts. It runs in an empty folder so no developer's `.env` leaks in. Ready once
 * `/health` answers.
 */
export async function spawnNexus(
  env: Record<string, string>,
  options: { compiled?: boolean; testCommands?: boolean; port?: number } = {},
): Promise<NexusProcess> {
  const cwd = mkdtempSync(join(tmpdir(), 'nexus-proc-'));
  // `port`: the same port again, for a restart the clients should find.
  const port = options.port ?? (await freePort());
  // `compiled`: run the build in dist/ with the flags of `npm start` (run `npm run build` first).
  // `testCommands`: add the command types of test/support/test-commands.ts.
  const entry = options.compiled
    ? [
        ...(process.env.NEXUS_NODE_FLAGS === undefined ? ['--single-threaded-gc'] : []),
        join(root, 'dist', 'src', 'main', 'supervisor-main.js'),
      ]
    : [
        '--import',
        tsx,
        join(root, options.testCommands ? 'test/support/main-with-test-commands.ts' : 'src/main/supervisor-main.ts'),
      ];
  const child = spawn(
    process.execPath,
    [...(process.env.NEXUS_NODE_FLAGS?.split(' ').filter(Boolean) ?? []), ...entry],
    {
      cwd,
      env: {
        PATH: process.env.PATH,
        NEXUS_API_KEY: API_KEY,
        ADMIN_API_KEY: ADMIN_KEY,
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        RATE_LIMIT_PER_SECOND: '0',
        ...env,
        PORT: String(port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const { logs, output, exited } = watch(child);
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(
    async () => {
      if (output.exitCode !== undefined)
        throw new Error(`NEXUS exited with ${output.exitCode} before serving: ${output.stderr}`);
      return (await fetch(`${url}/health`).catch(() => undefined))?.ok === true;
    },
    { timeoutMs: 30_000, what: 'NEXUS to serve' },
  );
  return {
    url,
    child,
    logs,
    exited,
    kill: (signal) => {
      child.kill(signal);
      return exited;
    },
  };
}

/** A worker process (`src/main/worker-main.ts` with the test command types), ready once it says it takes tasks. */
export async function spawnWorker(env: Record<string, string>): Promise<NexusProcess> {
  const cwd = mkdtempSync(join(tmpdir(), 'nexus-worker-'));
  const child = spawn(process.execPath, ['--import', tsx, join(root, 'test/support/worker-with-test-commands.ts')], {
    cwd,
    env: { PATH: process.env.PATH, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { logs, output, exited } = watch(child);
  await waitUntil(
    () => {
      if (output.exitCode !== undefined)
        throw new Error(`worker exited with ${output.exitCode} before taking tasks: ${output.stderr}`);
      return logs.some((line) => line.msg === 'worker is taking tasks');
    },
    { timeoutMs: 30_000, what: 'the worker to take tasks' },
  );
  return {
    url: '',
    child,
    logs,
    exited,
    kill: (signal) => {
      child.kill(signal);
      return exited;
    },
  };
}
