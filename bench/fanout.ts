import type { Socket } from 'node:net';
import { commandClient, rawSubscriber } from './support.js';

/** One report delivered to N open SSE subscribers: POST sent → the last subscriber reads it. */
export async function benchFanout(url: string, options: { subscribers: number; rounds: number }) {
  const org = 'fanout';
  const sockets: Socket[] = [];
  let ready = 0;
  let marker = '';
  let received = 0;
  let onAll: () => void = () => {};
  let onSettled: () => void = () => {};
  let settledCount = 0;
  for (let batch = 0; batch < options.subscribers; batch += 250) {
    await Promise.all(
      Array.from({ length: Math.min(250, options.subscribers - batch) }, async () => {
        let seenSnapshot = false;
        let seenMarker = '';
        let seenCompleted = '';
        sockets.push(
          await rawSubscriber(url, org, '/agent/reports/stream', (text) => {
            if (!seenSnapshot && text.includes('event: snapshot')) {
              seenSnapshot = true;
              ready++;
            }
            if (marker !== '' && seenMarker !== marker && text.includes(marker)) {
              seenMarker = marker;
              if (++received === options.subscribers) onAll();
            }
            if (
              marker !== '' &&
              seenCompleted !== marker &&
              text.includes(`"report_type":"task_completed","position"`) &&
              text.includes(marker)
            ) {
              seenCompleted = marker;
              if (++settledCount === options.subscribers) onSettled();
            }
          }),
        );
      }),
    );
  }
  const start = Date.now();
  while (ready < options.subscribers && Date.now() - start < 60_000)
    await new Promise((resolve) => setTimeout(resolve, 50));
  const client = commandClient(url, org, 1);
  const rounds: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    received = 0;
    settledCount = 0;
    marker = `"correlation_id":"fan-${round}"`;
    const all = new Promise<void>((resolve) => (onAll = resolve));
    const settled = new Promise<void>((resolve) => (onSettled = resolve));
    const sent = performance.now();
    await client.send({ command_type: 'echo.test', params: {}, correlation_id: `fan-${round}` });
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    rounds.push(received === options.subscribers ? performance.now() - sent : NaN);
    // the next round starts once this command's last report has reached every subscriber
    await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  }
  for (const socket of sockets) socket.destroy();
  client.close();
  const sorted = rounds.filter((r) => !Number.isNaN(r)).sort((a, b) => a - b);
  return {
    subscribers: ready,
    rounds: rounds.length,
    complete: sorted.length,
    median: sorted[Math.floor(sorted.length / 2)] ?? NaN,
    worst: sorted.at(-1) ?? NaN,
  };
}
