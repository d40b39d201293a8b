import { commandClient } from './support.js';

/** Commands accepted per second (202, durably appended) under a closed-loop load. */
export async function benchAccept(url: string, options: { total: number; connections: number }) {
  const client = commandClient(url, 'accept', options.connections);
  // warm up: JIT, connections, SQLite pages
  await Promise.all(
    Array.from({ length: options.connections }, () => client.send({ command_type: 'echo.test', params: {} })),
  );
  let next = 0;
  let accepted = 0;
  let refused = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.connections }, async () => {
      while (next < options.total) {
        next++;
        const status = await client.send({ command_type: 'echo.test', params: { n: next } });
        if (status === 202) accepted++;
        else refused++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  client.close();
  return { accepted, refused, seconds, perSecond: accepted / seconds };
}
