import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnNexus } from '../test/support/nexus-process.js';
import { benchAccept } from './accept.js';
import { benchFanout } from './fanout.js';
import { benchLatency } from './latency.js';
import { benchReplay, seedLog } from './replay.js';
import { benchTimeTravel } from './time-travel.js';

// The embedded-mode benchmark: each figure from a fresh NEXUS process (the build in dist/, as
// `npm start` runs it) and a load generator in this process, on the same machine.
// `npm run bench [accept|latency|fanout|replay|timetravel]` runs one of them.

const only = process.argv[2];
const REPLAY_COMMANDS = 50_000;
const TRAVEL_COMMANDS = 248_000;
const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const rows: Array<[string, string, string, boolean]> = [];
const record = (name: string, value: string, target: string, met: boolean) => {
  rows.push([name, value, target, met]);
  console.log(`${met ? 'MET ' : 'MISS'}  ${name}: ${value} (target ${target})`);
};

/** A fresh NEXUS for one benchmark: its own data folder unless given one. */
async function withNexus<T>(run: (url: string) => Promise<T>, dataDir = mkdtempSync(join(tmpdir(), 'nexus-bench-'))): Promise<T> {
  const nexus = await spawnNexus({ NEXUS_DATA_DIR: dataDir, LOG_LEVEL: 'warn', WORKER_CONCURRENCY: '16' }, { compiled: true });
  try {
    return await run(nexus.url);
  } finally {
    await nexus.kill('SIGTERM');
  }
}

if (!only || only === 'accept') {
  const rounds: Array<Awaited<ReturnType<typeof benchAccept>>> = [];
  for (let i = 0; i < 3; i++) rounds.push(await withNexus((url) => benchAccept(url, { total: 30_000, connections: 128 })));
  const rates = rounds.map((r) => r.perSecond);
  record(
    'commands accepted/s, durable (128 connections, median of 3 runs)',
    `${fmt(median(rates), 0)} (runs: ${rates.map((r) => fmt(r, 0)).join(', ')})`,
    '>= 5000',
    median(rates) >= 5000 && rounds.every((r) => r.refused === 0),
  );
}

if (!only || only === 'latency') {
  const rounds: Array<Awaited<ReturnType<typeof benchLatency>>> = [];
  for (let i = 0; i < 3; i++) rounds.push(await withNexus((url) => benchLatency(url, { rate: 1000, seconds: 10, warmupSeconds: 3 })));
  const complete = rounds.every((r) => r.samples === r.expected);
  const p50 = median(rounds.map((r) => r.p50));
  const p99 = median(rounds.map((r) => r.p99));
  const runs = (key: 'p50' | 'p99') => rounds.map((r) => fmt(r[key], key === 'p50' ? 2 : 1)).join(', ');
  record('command -> task_completed on SSE @ 1000/s, p50 (median of 3 runs)', `${fmt(p50, 2)} ms (runs: ${runs('p50')})`, '<= 3 ms', complete && p50 <= 3);
  record('command -> task_completed on SSE @ 1000/s, p99 (median of 3 runs)', `${fmt(p99)} ms (runs: ${runs('p99')})`, '<= 20 ms', complete && p99 <= 20);
}

if (!only || only === 'fanout') {
  const fanout = await withNexus((url) => benchFanout(url, { subscribers: 5000, rounds: 7 }));
  record(
    `one report to ${fanout.subscribers} open SSE subscribers (median of ${fanout.complete}/${fanout.rounds} rounds)`,
    `${fmt(fanout.median)} ms (worst ${fmt(fanout.worst)} ms)`,
    '<= 150 ms',
    fanout.subscribers === 5000 && fanout.complete === fanout.rounds && fanout.median <= 150,
  );
}

if (!only || only === 'replay') {
  const dataDir = mkdtempSync(join(tmpdir(), 'nexus-bench-replay-'));
  console.log(`seeding ${REPLAY_COMMANDS} commands for the replay benchmark...`);
  const head = await seedLog(dataDir, REPLAY_COMMANDS);
  const rounds = await withNexus(async (url) => {
    const results: Array<Awaited<ReturnType<typeof benchReplay>>> = [];
    for (let i = 0; i < 3; i++) results.push(await benchReplay(url, head, head));
    return results;
  }, dataDir);
  const rates = rounds.map((r) => r.perSecond);
  record(
    `Last-Event-ID: 0 replay of ${head} events (${fmt(rounds[0]!.megabytes)} MB) to one client (median of 3, first one cold)`,
    `${fmt(median(rates), 0)} events/s (runs: ${rates.map((r) => fmt(r, 0)).join(', ')})`,
    '>= 100000',
    median(rates) >= 100_000,
  );
}

if (!only || only === 'timetravel') {
  const dataDir = mkdtempSync(join(tmpdir(), 'nexus-bench-travel-'));
  console.log(`seeding ${TRAVEL_COMMANDS} commands (about a million events) for the time-travel benchmark...`);
  const seeding = performance.now();
  const head = await seedLog(dataDir, TRAVEL_COMMANDS);
  console.log(`seeded ${head} events in ${fmt((performance.now() - seeding) / 1000)} s`);
  const travel = await withNexus((url) => benchTimeTravel(url, head, 500), dataDir);
  record(
    `time travel: snapshot at a random position of a ${head}-event log, p50 (500 samples)`,
    `${fmt(travel.p50, 2)} ms`,
    '—',
    true,
  );
  record(
    `time travel: snapshot at a random position of a ${head}-event log, p99 (after a first load of ${fmt(travel.firstLoadMs / 1000)} s)`,
    `${fmt(travel.p99, 2)} ms (max ${fmt(travel.max, 1)} ms)`,
    '<= 50 ms',
    travel.p99 <= 50,
  );
}

console.log('\n| Benchmark (embedded, 2 cores, load generator on the same machine) | Measured | Target | |');
console.log('|---|---|---|---|');
for (const [name, value, target, met] of rows) console.log(`| ${name} | ${value} | ${target} | ${met ? 'met' : '**missed**'} |`);
