import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { connect } from 'amqplib';
import pg from 'pg';
import { freshDatabase, SERVICES } from '../test/support/distributed.js';
import { spawnNexus } from '../test/support/nexus-process.js';
import { waitUntil } from '../test/support/wait.js';
import type { SystemUnderTest } from './distributed.js';
import { commandClient, rawSubscriber } from './support.js';

const root = resolve(import.meta.dirname, '..');
const suffix = () => randomBytes(4).toString('hex');

/** Something to undo at the end, in reverse order of its making. */
type Undo = () => Promise<unknown> | unknown;

async function deleteQueues(names: readonly string[]): Promise<void> {
  const connection = await connect(SERVICES.rabbitmq);
  try {
    const channel = await connection.createChannel();
    for (const name of names) await channel.deleteQueue(name);
  } finally {
    await connection.close();
  }
}

/** SIGTERM, then SIGKILL if it has not left after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** `node dist/src/main/worker-main.js`, as `npm run worker` runs it; ready once it says it takes tasks. */
async function spawnCompiledWorker(env: Record<string, string>, problems: string[]): Promise<ChildProcess> {
  const cwd = mkdtempSync(join(tmpdir(), 'nexus-bench-worker-'));
  // NEXUS_WORKER_NODE_FLAGS: node flags for the workers (e.g. --cpu-prof), as NEXUS_NODE_FLAGS for the supervisor.
  const flags = process.env.NEXUS_WORKER_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...flags, join(root, 'dist', 'src', 'main', 'worker-main.js')], {
    cwd,
    env: { PATH: process.env.PATH, ...env, NEXUS_DATA_DIR: cwd, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let ready = false;
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let entry: { msg?: string; level?: number } = {};
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      problems.push(`worker ${child.pid}: ${line}`);
    }
    if (entry.msg === 'worker is taking tasks') ready = true;
    // pino levels: 40 warn, 50 error
    else if ((entry.level ?? 0) >= 40) problems.push(`worker ${child.pid}: ${line.slice(0, 300)}`);
  });
  child.once('exit', () => rmSync(cwd, { recursive: true, force: true }));
  await waitUntil(
    () => {
      if (child.exitCode !== null)
        throw new Error(`worker exited with ${child.exitCode} before taking tasks: ${stderr}`);
      return ready;
    },
    { timeoutMs: 30_000, what: 'a NEXUS worker to take tasks' },
  );
  return child;
}

/**
 * When each task of `tenant` passed its milestones, from the log: the supervisor's accept
 * transaction began, a worker decided its claim, the worker's claim-and-outcome transaction
 * began (`recorded_at` is the transaction's start). And the appends since `since` (epoch ms):
 * transactions and events per transaction, by writer.
 */
async function milestones(databaseUrl: string, tenant: string, since: number) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const epoch = (expression: string, type: string) =>
    `extract(epoch FROM min(${expression}) FILTER (WHERE type = '${type}')) * 1000`;
  try {
    const { rows } = await client.query<{
      correlation: string;
      accepted: string | null;
      claimed: string | null;
      outcome: string | null;
    }>(
      `SELECT metadata::json->>'correlation_id' AS correlation,
              ${epoch('recorded_at', 'CommandAccepted')} AS accepted,
              ${epoch("(metadata::json->>'occurred_at')::timestamptz", 'TaskStarted')} AS claimed,
              ${epoch('recorded_at', 'TaskSucceeded')} AS outcome
         FROM nexus.events WHERE tenant = $1 GROUP BY 1`,
      [tenant],
    );
    const byTask = new Map<number, number[]>();
    for (const row of rows) {
      if (!row.correlation.startsWith('bench-')) continue;
      byTask.set(
        Number(row.correlation.slice(6)),
        [row.accepted, row.claimed, row.outcome].map((ms) => (ms === null ? Number.NaN : Number(ms))),
      );
    }
    const batches = await client.query<{ writer: string; transactions: string; events: string; seconds: string }>(
      `SELECT CASE WHEN type IN ('CommandAccepted', 'TaskQueued') THEN 'supervisor (accepts)' ELSE 'workers (claims + outcomes)' END AS writer,
              count(DISTINCT recorded_at) AS transactions, count(*) AS events,
              extract(epoch FROM max(recorded_at) - min(recorded_at)) AS seconds
         FROM nexus.events WHERE tenant = $1 AND recorded_at >= to_timestamp($2 / 1000.0) GROUP BY 1 ORDER BY 1 DESC`,
      [tenant, since],
    );
    const notes = batches.rows.map(
      (row) =>
        `appends by the ${row.writer}: ${row.transactions} transactions (${(Number(row.transactions) / Number(row.seconds)).toFixed(0)}/s), ` +
        `${(Number(row.events) / Number(row.transactions)).toFixed(1)} events each`,
    );
    return {
      names: ['accept transaction began', 'worker decided the claim', 'outcome transaction began'],
      byTask,
      notes,
    };
  } finally {
    await client.end();
  }
}

/**
 * NEXUS in distributed mode, from the build in dist/: one supervisor and `workers` worker
 * processes on a fresh PostgreSQL database, fresh RabbitMQ queues and the local Redis. A task
 * is submitted with `POST /sidecar/command` (an `echo.test`) and seen complete when its
 * `task_completed` report reaches an SSE subscriber of `/agent/reports/stream`. `workerEnv`
 * adds to the workers' settings (RABBITMQ_PREFETCH, say).
 */
export async function startNexusDistributed(options: {
  workers: number;
  connections: number;
  workerEnv?: Record<string, string>;
}): Promise<SystemUnderTest> {
  const undo: Undo[] = [];
  const problems: string[] = [];
  let stopping: Promise<void> | undefined;
  const cleanUp = () => (stopping ??= undoAll());
  const undoAll = async () => {
    for (const step of undo.reverse()) {
      await Promise.resolve()
        .then(step)
        .catch((error: unknown) => console.error(`clean-up step failed: ${String(error)}`));
    }
  };
  try {
    const database = await freshDatabase('nexus_bench');
    undo.push(database.drop);
    const id = suffix();
    const queues = { TASK_QUEUE: `nexus.bench.${id}.tasks`, DLQ_QUEUE: `nexus.bench.${id}.dlq` };
    // Deleting a queue that was never declared is fine: the deletion is idempotent.
    undo.push(() => deleteQueues(Object.values(queues)));
    const env = { DATABASE_URL: database.url, RABBITMQ_URL: SERVICES.rabbitmq, REDIS_URL: SERVICES.redis, ...queues };
    const dataDir = mkdtempSync(join(tmpdir(), 'nexus-bench-'));
    undo.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const supervisor = await spawnNexus({ ...env, NEXUS_DATA_DIR: dataDir, LOG_LEVEL: 'warn' }, { compiled: true });
    undo.push(() => stopChild(supervisor.child));
    const workers: ChildProcess[] = [];
    for (let i = 0; i < options.workers; i++) {
      const worker = await spawnCompiledWorker({ ...env, ...options.workerEnv }, problems);
      undo.push(() => stopChild(worker));
      workers.push(worker);
    }

    const org = `bench-${id}`;
    const listeners: Array<(n: number) => void> = [];
    const completed = /"report_type":"task_completed","position":\d+,"correlation_id":"bench-(\d+)"/g;
    const socket = await rawSubscriber(supervisor.url, org, '/agent/reports/stream', (text) => {
      for (const match of text.matchAll(completed)) for (const listener of listeners) listener(Number(match[1]));
    });
    undo.push(() => socket.destroy());
    const client = commandClient(supervisor.url, org, options.connections);
    undo.push(() => client.close());
    return {
      name: 'NEXUS distributed',
      processes: [
        { role: 'supervisor', pid: supervisor.child.pid! },
        ...workers.map((worker, i) => ({ role: `worker ${i + 1}`, pid: worker.pid! })),
      ],
      submit: async (n) =>
        (await client.send({ command_type: 'echo.test', params: { n }, correlation_id: `bench-${n}` })) === 202,
      onCompleted: (listener) => void listeners.push(listener),
      milestones: (since) => milestones(database.url, `${org}/bench`, since),
      problems: () => [
        ...supervisor.logs.map((line) => `supervisor: ${JSON.stringify(line).slice(0, 300)}`),
        ...problems,
      ],
      stop: cleanUp,
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}
