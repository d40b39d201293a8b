import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Queue, QueueEvents } from 'bullmq';
import { waitUntil } from '../test/support/wait.js';
import type { SystemUnderTest } from './distributed.js';
import { stopChild } from './nexus-distributed.js';

const root = resolve(import.meta.dirname, '..');
const tsx = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const connection = { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null };

async function spawnBullWorker(queue: string, concurrency: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', tsx, join(root, 'bench', 'bullmq-worker.ts'), queue, String(concurrency)],
    {
      env: { PATH: process.env.PATH },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let ready = false;
  child.stdout!.on('data', (chunk: Buffer) => (ready ||= chunk.toString().includes('ready')));
  await waitUntil(
    () => {
      if (child.exitCode !== null) throw new Error(`BullMQ worker exited with ${child.exitCode} before it was ready`);
      return ready;
    },
    { timeoutMs: 30_000, what: 'a BullMQ worker to be ready' },
  );
  return child;
}

/**
 * BullMQ on the local Redis, with BullMQ's defaults (completed jobs are kept: no
 * `removeOnComplete`): a task is submitted with `queue.add()` from this process, run by
 * `workers` worker processes (`bench/bullmq-worker.ts`, a no-op processor) with `concurrency`
 * each, and seen complete when `QueueEvents` here emits 'completed'. The queue is obliterated
 * by `stop`.
 */
export async function startBullmq(options: { workers: number; concurrency: number }): Promise<SystemUnderTest> {
  const name = `nexus-bench-${randomBytes(4).toString('hex')}`;
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  const workers: ChildProcess[] = [];
  const problems: string[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await Promise.all(workers.map((worker) => stopChild(worker)));
      await events.close().catch((error: unknown) => console.error(`QueueEvents did not close: ${String(error)}`));
      await queue
        .obliterate({ force: true })
        .catch((error: unknown) => console.error(`the BullMQ queue was not obliterated: ${String(error)}`));
      await queue.close().catch(() => undefined);
    })());
  try {
    await queue.waitUntilReady();
    await events.waitUntilReady();
    for (let i = 0; i < options.workers; i++) workers.push(await spawnBullWorker(name, options.concurrency));
  } catch (error) {
    await stop();
    throw error;
  }
  events.on('failed', ({ jobId, failedReason }) => problems.push(`job ${jobId} failed: ${failedReason}`));
  return {
    name: 'BullMQ',
    processes: workers.map((worker, i) => ({ role: `worker ${i + 1}`, pid: worker.pid! })),
    submit: async (n) => (await queue.add('echo', { n })).id !== undefined,
    onCompleted: (listener) => void events.on('completed', ({ returnvalue }) => listener(Number(returnvalue))),
    problems: () => problems,
    stop,
  };
}
