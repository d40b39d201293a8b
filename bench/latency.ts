import { commandClient, percentile, rawSubscriber } from './support.js';

/**
 * Command → `task_completed` on SSE, at a paced rate: the time from sending the POST to the
 * moment an SSE subscriber reads the completion report. The first `warmupSeconds` (JIT,
 * first-use compilation) are sent but not counted.
 */
export async function benchLatency(url: string, options: { rate: number; seconds: number; warmupSeconds: number }) {
  const org = 'latency';
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const warmup = options.rate * options.warmupSeconds;
  const total = options.rate * options.seconds + warmup;
  const pattern = /"report_type":"task_completed","position":\d+,"correlation_id":"(lat-\d+)"/g;
  const socket = await rawSubscriber(url, org, '/agent/reports/stream', (text) => {
    const now = performance.now();
    for (const match of text.matchAll(pattern)) {
      const started = sentAt.get(match[1]!);
      if (started === undefined) continue;
      sentAt.delete(match[1]!);
      latencies.push(now - started);
      if (Number(match[1]!.slice(4)) < warmup) latencies.pop();
      if (latencies.length === total - warmup) resolveDone();
    }
  });
  const client = commandClient(url, org, 64);
  // An open-loop load: each command leaves at its own time (1/rate apart), whatever the
  // answers to the previous ones; the timer wakes about every millisecond.
  const started = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * options.rate));
      for (; sent < due; sent++) {
        const id = `lat-${sent}`;
        sentAt.set(id, performance.now());
        void client.send({ command_type: 'echo.test', params: {}, correlation_id: id });
      }
      if (sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 30_000))]);
  socket.destroy();
  client.close();
  const sorted = latencies.sort((a, b) => a - b);
  return {
    samples: sorted.length,
    expected: total - warmup,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? NaN,
  };
}
