import { percentile, tenantHeaders } from './support.js';
import { replayTenant } from './replay.js';

/**
 * `GET /agent/snapshot?at=N` at random positions of a long log: the first request folds the
 * tenant's whole history once (keeping a checkpoint every 1,000 events); every later one folds
 * at most that many from the nearest checkpoint.
 */
export async function benchTimeTravel(url: string, head: number, samples: number) {
  const headers = tenantHeaders(replayTenant.org_id);
  const get = async (query: string) => {
    const response = await fetch(`${url}/agent/snapshot${query}`, { headers });
    if (!response.ok) throw new Error(`snapshot ${query}: ${response.status}`);
    return (await response.json()) as { position: number };
  };
  const loadStarted = performance.now();
  await get('');
  const firstLoadMs = performance.now() - loadStarted;
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const at = 1 + Math.floor(Math.random() * head);
    const started = performance.now();
    const snapshot = await get(`?at=${at}`);
    latencies.push(performance.now() - started);
    if (snapshot.position !== at) throw new Error(`asked for ${at}, got ${snapshot.position}`);
  }
  const sorted = latencies.sort((a, b) => a - b);
  return { firstLoadMs, samples, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN };
}
