import { Worker } from 'bullmq';

// One BullMQ worker process for the distributed benchmark: a no-op processor (it answers the
// job's number, which the load generator reads back from the 'completed' event).
// Usage: node --import tsx bench/bullmq-worker.ts <queue> <concurrency>

const [queue, concurrency] = process.argv.slice(2);
if (!queue || !concurrency) throw new Error('usage: bullmq-worker.ts <queue> <concurrency>');

const worker = new Worker(queue, async (job) => (job.data as { n: number }).n, {
  connection: { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null },
  concurrency: Number(concurrency),
});
worker.on('error', (error) => process.stderr.write(`bullmq worker error: ${String(error)}\n`));
await worker.waitUntilReady();
process.stdout.write('ready\n');

process.once('SIGTERM', () => {
  worker.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
