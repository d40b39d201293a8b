import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnNexus } from '../test/support/nexus-process.js';
import { benchAccept } from './accept.js';
import { benchFanout } from './fanout.js';
import { benchLatency } from './latency.js';
import { benchReplay, seedLog } from './replay.js';

// The embedded-mode benchmark of issue "event-sourced core": NEXUS runs as its own process,
// the load generator here, both on this machine.

const only = process.argv[2];
const dataDir = mkdtempSync(join(tmpdir(), 'nexus-bench-'));
const REPLAY_COMMANDS = 50_000;
const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

const rows: Array<[string, string, string, boolean]> = [];
const record = (name: string, value: string, target: string, met: boolean) => {
  rows.push([name, value, target, met]);
  console.log(`${met ? 'MET ' : 'MISS'}  ${name}: ${value} (target ${target})`);
};

console.log(`seeding ${REPLAY_COMMANDS * 4} events for the replay benchmark...`);
const replayHead = await seedLog(dataDir, REPLAY_COMMANDS);

const nexus = await spawnNexus({ NEXUS_DATA_DIR: dataDir, LOG_LEVEL: 'warn', WORKER_CONCURRENCY: '16' }, { compiled: true });
console.log(`NEXUS at ${nexus.url}, data in ${dataDir}`);
const health = async () => (await (await fetch(`${nexus.url}/health`)).json()) as { dispatcher: { pending: number } };
const drain = async () => {
  while ((await health()).dispatcher.pending > 0) await new Promise((resolve) => setTimeout(resolve, 100));
};

try {
  if (!only || only === 'accept') {
    const accept = await benchAccept(nexus.url, { total: 30_000, connections: 128 });
    record('commands accepted/s (durable, 128 connections)', fmt(accept.perSecond, 0), '>= 5000', accept.perSecond >= 5000 && accept.refused === 0);
    await drain();
  }
  if (!only || only === 'latency') {
    const latency = await benchLatency(nexus.url, { rate: 1000, seconds: 10, warmupSeconds: 2 });
    const complete = latency.samples === latency.expected;
    record('command -> task_completed on SSE, p50 @ 1000/s', `${fmt(latency.p50, 2)} ms`, '<= 3 ms', complete && latency.p50 <= 3);
    record('command -> task_completed on SSE, p99 @ 1000/s', `${fmt(latency.p99, 2)} ms (max ${fmt(latency.max)} ms, ${latency.samples}/${latency.expected})`, '<= 20 ms', complete && latency.p99 <= 20);
    await drain();
  }
  if (!only || only === 'fanout') {
    const fanout = await benchFanout(nexus.url, { subscribers: 5000, rounds: 5 });
    record(
      `one report to ${fanout.subscribers} SSE subscribers (median of ${fanout.complete}/${fanout.rounds})`,
      `${fmt(fanout.median)} ms (worst ${fmt(fanout.worst)} ms)`,
      '<= 150 ms',
      fanout.subscribers === 5000 && fanout.complete === fanout.rounds && fanout.median <= 150,
    );
  }
  if (!only || only === 'replay') {
    const replay = await benchReplay(nexus.url, replayHead, REPLAY_COMMANDS * 4);
    record(`Last-Event-ID replay to one client (${replay.events} events, ${fmt(replay.megabytes)} MB)`, `${fmt(replay.perSecond, 0)} events/s`, '>= 100000', replay.perSecond >= 100_000);
  }
} finally {
  await nexus.kill('SIGTERM');
}

console.log('\n| Benchmark (embedded, 2 cores, load generator on the same machine) | Measured | Target | |');
console.log('|---|---|---|---|');
for (const [name, value, target, met] of rows) console.log(`| ${name} | ${value} | ${target} | ${met ? 'met' : '**missed**'} |`);
