import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnNexus } from '../test/support/nexus-process.js';
import { benchAccept } from './accept.js';
import { benchFanout } from './fanout.js';
import { benchHostileReads, hostileEnv, seedHostileLog } from './hostile-reads.js';
import { benchLatency } from './latency.js';
import { benchMemory } from './memory.js';
import { benchReplay, seedLog } from './replay.js';
import { benchTimeTravel } from './time-travel.js';

// The embedded-mode benchmark: each figure from a fresh NEXUS process (the build in dist/, as
// `npm start` runs it) and a load generator in this process, on the same machine.
// `npm run bench [accept|latency|fanout|replay|timetravel|hostile|memory]` runs one of them.
//
// Smoke runs (to check a benchmark works, not to measure): BENCH_SMALL=1 shrinks hostile
// (2,000 seeded commands, 3 s runs) and memory (100 commands of 1 MB);
// BENCH_HOSTILE_COMMANDS=n and BENCH_MEMORY_COMMANDS=n set those sizes on their own, e.g.
//   npm run build && BENCH_SMALL=1 npx tsx bench/run.ts hostile

const only = process.argv[2];
const small = process.env.BENCH_SMALL === '1';
const REPLAY_COMMANDS = 50_000;
const TRAVEL_COMMANDS = 248_000;
const HOSTILE_COMMANDS = Number(process.env.BENCH_HOSTILE_COMMANDS ?? (small ? 2000 : 40_000));
const HOSTILE_SECONDS = small ? 3 : 10;
const MEMORY_COMMANDS = Number(process.env.BENCH_MEMORY_COMMANDS ?? (small ? 100 : 2000));
const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const rows: Array<[string, string, string, boolean]> = [];
const record = (name: string, value: string, target: string, met: boolean) => {
  rows.push([name, value, target, met]);
  console.log(`${met ? 'MET ' : 'MISS'}  ${name}: ${value} (target ${target})`);
};

/** A fresh NEXUS for one benchmark: its own data folder unless given one; `env` adds settings. */
async function withNexus<T>(
  run: (url: string) => Promise<T>,
  dataDir = mkdtempSync(join(tmpdir(), 'nexus-bench-')),
  env: Record<string, string> = {},
): Promise<T> {
  const nexus = await spawnNexus(
    { NEXUS_DATA_DIR: dataDir, LOG_LEVEL: 'warn', WORKER_CONCURRENCY: '16', ...env },
    { compiled: true },
  );
  try {
    return await run(nexus.url);
  } finally {
    await nexus.kill('SIGTERM');
  }
}

if (!only || only === 'accept') {
  const rounds: Array<Awaited<ReturnType<typeof benchAccept>>> = [];
  for (let i = 0; i < 3; i++)
    rounds.push(await withNexus((url) => benchAccept(url, { total: 30_000, connections: 128 })));
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
  for (let i = 0; i < 3; i++)
    rounds.push(await withNexus((url) => benchLatency(url, { rate: 1000, seconds: 10, warmupSeconds: 3 })));
  const complete = rounds.every((r) => r.samples === r.expected);
  const p50 = median(rounds.map((r) => r.p50));
  const p99 = median(rounds.map((r) => r.p99));
  const runs = (key: 'p50' | 'p99') => rounds.map((r) => fmt(r[key], key === 'p50' ? 2 : 1)).join(', ');
  record(
    'command -> task_completed on SSE @ 1000/s, p50 (median of 3 runs)',
    `${fmt(p50, 2)} ms (runs: ${runs('p50')})`,
    '<= 3 ms',
    complete && p50 <= 3,
  );
  record(
    'command -> task_completed on SSE @ 1000/s, p99 (median of 3 runs)',
    `${fmt(p99)} ms (runs: ${runs('p99')})`,
    '<= 20 ms',
    complete && p99 <= 20,
  );
}

if (!only || only === 'fanout') {
  // 5,000 streams of one tenant and key: above the default caps of 1,000 per tenant and key.
  const caps = { SSE_MAX_CONNECTIONS_PER_TENANT: '6000', SSE_MAX_CONNECTIONS_PER_KEY: '6000' };
  const fanout = await withNexus((url) => benchFanout(url, { subscribers: 5000, rounds: 7 }), undefined, caps);
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
  // A speed benchmark, not one of limits: the one key asking may read history without a budget.
  const travel = await withNexus((url) => benchTimeTravel(url, head, 500), dataDir, {
    EXPENSIVE_READ_MS_PER_SECOND: '3600000',
    EXPENSIVE_READS_PER_KEY: '1000',
  });
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

if (!only || only === 'hostile') {
  const dataDir = mkdtempSync(join(tmpdir(), 'nexus-bench-hostile-'));
  console.log(`seeding ${HOSTILE_COMMANDS} commands of the hostile tenant...`);
  const head = await seedHostileLog(dataDir, HOSTILE_COMMANDS);
  const options = {
    head,
    rate: 200,
    seconds: HOSTILE_SECONDS,
    warmupSeconds: small ? 1 : 3,
    clients: 8,
    hostileRate: 200,
  };
  const { firstLoadMs, quiet, hostile, attack } = await withNexus(
    (url) => benchHostileReads(url, options),
    dataDir,
    hostileEnv(200),
  ).finally(() => rmSync(dataDir, { recursive: true, force: true }));
  const ratio = hostile.p99 / quiet.p99;
  const healthRatio = hostile.health.p99 / quiet.health.p99;
  const under = `while another tenant loops expensive reads of its ${head}-event history (${options.clients} clients, at most ${options.hostileRate}/s)`;
  for (const [kind, { statuses, p50, max }] of Object.entries(attack.byKind)) {
    console.log(
      `  attacker ${kind}: ${
        Object.entries(statuses)
          .map(([s, n]) => `${s}: ${n}`)
          .join(', ') || 'none'
      }; 200s p50 ${fmt(p50)} ms, max ${fmt(max)} ms`,
    );
  }
  console.log(
    `  attacker process: ${fmt(attack.cores, 2)} cores; victim load generator sent at most ${fmt(Math.max(quiet.maxSendLagMs, hostile.maxSendLagMs))} ms late`,
  );
  console.log(
    `  the hostile tenant's first past snapshot (its ${head} events folded once, before the quiet run): ${fmt(firstLoadMs, 0)} ms`,
  );
  record(
    `hostile reads: command -> 202 @ ${options.rate}/s, p99 ${under}`,
    `${fmt(hostile.p99, 2)} ms vs ${fmt(quiet.p99, 2)} ms quiet (${fmt(ratio, 2)}x; p50 ${fmt(hostile.p50, 2)} vs ${fmt(quiet.p50, 2)} ms, max ${fmt(hostile.max)} vs ${fmt(quiet.max)} ms; not 202: ${hostile.refused} vs ${quiet.refused})`,
    '<= 2x quiet',
    ratio <= 2 && quiet.refused === 0 && hostile.refused === 0,
  );
  record(
    `hostile reads: /health every 50 ms, p99 ${under}`,
    `${fmt(hostile.health.p99, 2)} ms vs ${fmt(quiet.health.p99, 2)} ms quiet (${fmt(healthRatio, 2)}x; max ${fmt(hostile.health.max)} vs ${fmt(quiet.health.max)} ms; failed: ${hostile.health.failed} vs ${quiet.health.failed})`,
    '<= 2x quiet',
    healthRatio <= 2 && hostile.health.failed === 0,
  );
  const answered = Object.values(attack.byStatus).reduce((a, b) => a + b, 0);
  const others = answered - (attack.byStatus['200'] ?? 0) - (attack.byStatus['429'] ?? 0);
  record(
    `hostile reads: the attacker's answers (${fmt(answered / attack.seconds, 0)} requests/s over ${fmt(attack.seconds)} s)`,
    `200: ${attack.byStatus['200'] ?? 0}, 429: ${attack.byStatus['429'] ?? 0}, other: ${others}${
      others > 0
        ? ` (${Object.entries(attack.byStatus)
            .filter(([s]) => s !== '200' && s !== '429')
            .map(([s, n]) => `${s}: ${n}`)
            .join(', ')})`
        : ''
    }`,
    '—',
    true,
  );
}

if (!only || only === 'memory') {
  // A NEXUS that dies under the load (out of memory) is a result, not a crash of the benchmark.
  const memory = await benchMemory({ commands: MEMORY_COMMANDS, bytes: 1_000_000, concurrency: 4 }).catch(
    (error: Error) => ({ failed: error.message }),
  );
  if ('failed' in memory) {
    record(
      `memory: ${MEMORY_COMMANDS} commands of 1 MB, then a restart`,
      `failed: ${memory.failed}`,
      '< 300 MB, serves again',
      false,
    );
  } else if ('skipped' in memory) {
    console.log(`SKIP  memory: ${memory.skipped}`);
  } else {
    const what = `${memory.commands} commands of 1 MB`;
    const accepted = memory.statuses['202'] ?? 0;
    record(
      `memory: ${what} accepted and run (${fmt(memory.loadSeconds)} s, a ${fmt(memory.dataGb, 2)} GB log), peak RSS`,
      `${fmt(memory.loadPeak, 0)} MB (${fmt(memory.fresh, 0)} MB before, ${fmt(memory.afterLoad, 0)} MB once all had run; 202: ${accepted}/${memory.commands}, dead-lettered: ${memory.deadLettered})`,
      '< 300 MB',
      memory.loadPeak < 300 && accepted === memory.commands && memory.deadLettered === 0,
    );
    record(
      `memory: restart on the log of ${what}, peak RSS until it serves again`,
      `${fmt(memory.restartPeak, 0)} MB (${fmt(memory.startPeak, 0)} MB until /health answered, after ${fmt(memory.startSeconds)} s; steady ${fmt(memory.steady, 0)} MB after the checks)`,
      '< 300 MB',
      memory.restartPeak < 300 && memory.served.ok,
    );
    record(
      `memory: serves again after the restart`,
      memory.served.ok ? `yes (${memory.served.detail})` : `no: ${memory.served.detail}`,
      'yes',
      memory.served.ok,
    );
  }
}

console.log('\n| Benchmark (embedded, 2 cores, load generator on the same machine) | Measured | Target | |');
console.log('|---|---|---|---|');
for (const [name, value, target, met] of rows)
  console.log(`| ${name} | ${value} | ${target} | ${met ? 'met' : '**missed**'} |`);
