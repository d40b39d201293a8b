import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { SERVICES } from '../test/support/distributed.js';
import { startBullmq } from './bullmq.js';
import { startNexusDistributed } from './nexus-distributed.js';
import { CORES, cpuMeter } from './cpu-meter.js';
import { percentile } from './support.js';

// The distributed benchmark: NEXUS in distributed mode (a supervisor and 2 workers from the
// build in dist/, PostgreSQL, RabbitMQ, Redis) against BullMQ (2 worker processes, Redis), the
// same no-op tasks from the same load generator in this process, on the same machine.
// `npm run bench:distributed [-- nexus|bullmq] [--seconds 12] [--in-flight 64] [--loop requests|tasks|both]
//   [--workers 2] [--bullmq-concurrency 16] [--prefetch <RABBITMQ_PREFETCH of the NEXUS workers>]`

/** A queueing system as the load generator sees it. */
export interface SystemUnderTest {
  readonly name: string;
  /** Its own processes, whose CPU time is measured. */
  readonly processes: ReadonlyArray<{ role: string; pid: number }>;
  /** Submits task `n`; resolves true once the system took it (a 202, an `add()` answered). */
  submit(n: number): Promise<boolean>;
  /** `listener` hears the `n` of every task seen completed. */
  onCompleted(listener: (n: number) => void): void;
  /** Warnings and errors the system reported. */
  problems(): string[];
  /**
   * Optional: when each task passed the system's own milestones (epoch ms), as its log
   * recorded them, to split the end-to-end latency into stages; and notes on the work done
   * since `since` (epoch ms).
   */
  milestones?(
    since: number,
  ): Promise<{ names: readonly string[]; byTask: Map<number, number[]>; notes: readonly string[] }>;
  /** Stops its processes and deletes what it made (database, queues); never throws. */
  stop(): Promise<void>;
}

/**
 * How the load generator keeps `inFlight` busy: `requests` sends the next task as soon as a
 * submit is answered (tasks may pile up in the system: the brief's closed loop); `tasks`
 * sends the next one when a task completes (at most `inFlight` tasks in the system).
 */
type Loop = 'requests' | 'tasks';

interface PhaseOptions {
  readonly loop: Loop;
  readonly seconds: number;
  readonly inFlight: number;
  readonly maxTasks: number;
}

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '12' },
    'in-flight': { type: 'string', default: '64' },
    loop: { type: 'string', default: 'both' },
    workers: { type: 'string', default: '2' },
    'bullmq-concurrency': { type: 'string', default: '16' },
    /** RABBITMQ_PREFETCH of the NEXUS workers; NEXUS's default unless given. */
    prefetch: { type: 'string' },
  },
});
const only = positionals[0];
const seconds = Number(flags.seconds);
const inFlight = Number(flags['in-flight']);
const workers = Number(flags.workers);
const loops: Loop[] = flags.loop === 'both' ? ['requests', 'tasks'] : [flags.loop as Loop];
/** The most tasks one phase sends: bounds the backlog (and Redis memory) of the requests loop. */
const MAX_TASKS = 200_000;
/** A phase gives up waiting for completions after this long without one. */
const STALL_MS = 30_000;

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : 'n/a';

/** The tasks of one phase: when each was sent, accepted and seen completed. */
class Phase {
  readonly sentAt: number[] = [];
  readonly doneAt: number[] = [];
  readonly answeredAt: number[] = [];
  readonly refused = new Set<number>();
  accepted = 0;
  completed = 0;
  lastAcceptAt = 0;
  private readonly waiters = new Map<number, () => void>();
  private onProgress: () => void = () => {};

  constructor(readonly first: number) {}

  complete(n: number, now: number): void {
    const i = n - this.first;
    if (i < 0 || this.sentAt[i] === undefined || this.doneAt[i] !== undefined) return;
    this.doneAt[i] = now;
    this.completed++;
    this.waiters.get(i)?.();
    this.waiters.delete(i);
    this.onProgress();
  }

  /** Resolves when task `i` of the phase completes, or after `STALL_MS`. */
  done(i: number): Promise<void> {
    if (this.doneAt[i] !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, STALL_MS);
      this.waiters.set(i, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Resolves when every accepted task completed, or when none has for `STALL_MS`. */
  drained(): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const check = () => {
        clearTimeout(timer);
        if (this.completed >= this.accepted) return resolve();
        timer = setTimeout(resolve, STALL_MS);
      };
      this.onProgress = check;
      check();
    });
  }
}

async function runPhase(system: SystemUnderTest, phase: Phase, options: PhaseOptions) {
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  let next = phase.first;
  const loop = async () => {
    while (performance.now() < deadline && next - phase.first < options.maxTasks) {
      const n = next++;
      const i = n - phase.first;
      phase.sentAt[i] = performance.now();
      if (!(await system.submit(n).catch(() => false))) {
        phase.refused.add(i);
        continue;
      }
      phase.accepted++;
      phase.lastAcceptAt = phase.answeredAt[i] = performance.now();
      if (options.loop === 'tasks') await phase.done(i);
    }
  };
  await Promise.all(Array.from({ length: options.inFlight }, loop));
  await phase.drained();
  const latencies: number[] = [];
  let lastDone = started;
  phase.sentAt.forEach((sent, i) => {
    const done = phase.doneAt[i];
    if (done === undefined) return;
    latencies.push(done - sent);
    if (done > lastDone) lastDone = done;
  });
  latencies.sort((a, b) => a - b);
  const submits = phase.answeredAt
    .map((answered, i) => answered - phase.sentAt[i]!)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  return {
    submitP50: percentile(submits, 50),
    submitP99: percentile(submits, 99),
    sent: next - phase.first,
    refused: phase.refused.size,
    completed: phase.completed,
    lost: phase.accepted - phase.completed,
    seconds: (lastDone - started) / 1000,
    throughput: phase.completed / ((lastDone - started) / 1000),
    acceptedPerSecond: phase.accepted === 0 ? Number.NaN : phase.accepted / ((phase.lastAcceptAt - started) / 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? Number.NaN,
    next,
  };
}

/** p50 / p99 of each stage between a task's milestones, from its submit to its completion seen. */
async function printStages(system: SystemUnderTest, phase: Phase): Promise<void> {
  if (!system.milestones) return;
  const epoch = (t: number) => performance.timeOrigin + t;
  const { names, byTask, notes } = await system.milestones(epoch(phase.sentAt[0] ?? 0));
  const labels = ['submit sent', ...names, 'completion seen'];
  const gaps: number[][] = labels.slice(1).map(() => []);
  phase.sentAt.forEach((sent, i) => {
    const marks = byTask.get(phase.first + i);
    const done = phase.doneAt[i];
    if (!marks || done === undefined || marks.some((mark) => !Number.isFinite(mark))) return;
    const times = [epoch(sent), ...marks, epoch(done)];
    for (let k = 1; k < times.length; k++) gaps[k - 1]!.push(times[k]! - times[k - 1]!);
  });
  console.log(`  stages (${gaps[0]!.length} tasks), p50 / p99 ms:`);
  gaps.forEach((values, k) => {
    values.sort((a, b) => a - b);
    console.log(
      `    ${labels[k]} -> ${labels[k + 1]}: ${fmt(percentile(values, 50), 1)} / ${fmt(percentile(values, 99), 1)}`,
    );
  });
  for (const note of notes) console.log(`  ${note}`);
}

type Result = Awaited<ReturnType<typeof runPhase>> & { system: string; loop: Loop; cores: Map<string, number> };

/** Warms `system` up (JIT, connections, first-use paths), then runs each loop once, measured. */
async function bench(system: SystemUnderTest): Promise<Result[]> {
  let phase: Phase | undefined;
  system.onCompleted((n) => phase?.complete(n, performance.now()));
  let next = 0;
  phase = new Phase(next);
  const warm = await runPhase(system, phase, { loop: 'tasks', seconds: 2, inFlight, maxTasks: MAX_TASKS });
  console.log(`${system.name}: warmed up with ${warm.completed} tasks`);
  next = warm.next;
  const results: Result[] = [];
  for (const loop of loops) {
    phase = new Phase(next);
    const meter = cpuMeter(system);
    const result = await runPhase(system, phase, { loop, seconds, inFlight, maxTasks: MAX_TASKS });
    const cores = meter();
    next = result.next;
    results.push({ ...result, system: system.name, loop, cores });
    console.log(
      `${system.name} [${loop} loop]: ${result.completed}/${result.sent} completed in ${fmt(result.seconds, 1)} s (${result.refused} refused, ${result.lost} not seen): ` +
        `${fmt(result.throughput)}/s, accepted ${fmt(result.acceptedPerSecond)}/s, p50 ${fmt(result.p50, 1)} ms, p99 ${fmt(result.p99, 1)} ms, max ${fmt(result.max, 1)} ms; ` +
        `submit answered p50 ${fmt(result.submitP50, 1)} ms, p99 ${fmt(result.submitP99, 1)} ms`,
    );
    console.log(`  CPU (cores of ${CORES}): ${[...cores].map(([role, used]) => `${role} ${fmt(used, 2)}`).join(', ')}`);
    await printStages(system, phase);
  }
  const problems = system.problems();
  if (problems.length > 0)
    console.log(
      `${system.name} reported ${problems.length} warnings or errors, the first:\n  ${problems.slice(0, 5).join('\n  ')}`,
    );
  return results;
}

/** Starts a system, benchmarks it and stops it, however the run ends. */
async function withSystem(start: () => Promise<SystemUnderTest>): Promise<Result[]> {
  const system = await start();
  const stopOnSignal = () => void system.stop().finally(() => process.exit(130));
  process.once('SIGINT', stopOnSignal);
  try {
    return await bench(system);
  } finally {
    process.removeListener('SIGINT', stopOnSignal);
    await system.stop();
  }
}

/** What this machine's PostgreSQL and Redis keep on disk, for the durability column. */
async function durabilitySettings() {
  const client = new pg.Client({ connectionString: SERVICES.postgres });
  await client.connect();
  const setting = async (name: string) => (await client.query<Record<string, string>>(`SHOW ${name}`)).rows[0]![name];
  const postgres = { fsync: await setting('fsync'), synchronous_commit: await setting('synchronous_commit') };
  await client.end();
  const redis = new Redis(SERVICES.redis);
  const [, save] = (await redis.config('GET', 'save')) as [string, string];
  const [, appendonly] = (await redis.config('GET', 'appendonly')) as [string, string];
  redis.disconnect();
  return { postgres, redis: { save, appendonly } };
}

const settings = await durabilitySettings();
const results: Result[] = [];
if (!only || only === 'nexus')
  results.push(
    ...(await withSystem(() =>
      startNexusDistributed({
        workers,
        connections: inFlight,
        workerEnv: flags.prefetch ? { RABBITMQ_PREFETCH: flags.prefetch } : {},
      }),
    )),
  );
if (!only || only === 'bullmq')
  results.push(...(await withSystem(() => startBullmq({ workers, concurrency: Number(flags['bullmq-concurrency']) }))));

const redisDurable = settings.redis.save !== '' || settings.redis.appendonly === 'yes';
const durability: Record<string, string> = {
  'NEXUS distributed':
    `every command, claim and outcome committed to PostgreSQL (fsync=${settings.postgres.fsync}, synchronous_commit=${settings.postgres.synchronous_commit}) ` +
    'before it is answered or reported; tasks in RabbitMQ quorum queues with publisher confirms',
  BullMQ: redisDurable
    ? `Redis only (save "${settings.redis.save}", appendonly ${settings.redis.appendonly})`
    : `Redis only, and this Redis keeps nothing on disk (save "", appendonly no): a Redis restart loses every job`,
};
const loopName: Record<Loop, string> = {
  requests: `${inFlight} submits in flight`,
  tasks: `${inFlight} tasks in flight`,
};

console.log(
  `\n| System (${CORES} cores shared with every service and the load generator) | Load | Tasks | Throughput (tasks/s) | Accepted/s | p50 ms | p99 ms | Durability |`,
);
console.log('|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const workersNote =
    r.system === 'BullMQ'
      ? `${workers} workers × concurrency ${flags['bullmq-concurrency']}`
      : `1 supervisor + ${workers} workers`;
  console.log(
    `| ${r.system} (${workersNote}) | ${loopName[r.loop]} | ${fmt(r.completed)}${r.lost > 0 ? ` (${r.lost} not seen)` : ''} | ${fmt(r.throughput)} | ${fmt(r.acceptedPerSecond)} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${durability[r.system]} |`,
  );
}
for (const loop of loops) {
  const nexus = results.find((r) => r.loop === loop && r.system === 'NEXUS distributed');
  const bull = results.find((r) => r.loop === loop && r.system === 'BullMQ');
  if (!nexus || !bull) continue;
  const ratio = nexus.throughput / bull.throughput;
  console.log(
    `\nNEXUS/BullMQ throughput, ${loopName[loop]}: ${fmt(ratio, 2)} — NEXUS ${ratio >= 1 ? 'matches' : 'does not match'} BullMQ's throughput.`,
  );
}
console.log(`\nCPU, cores of ${CORES} (over each measured phase):`);
const roles = [...new Set(results.flatMap((r) => [...r.cores.keys()]))];
console.log(`| Role | ${results.map((r) => `${r.system}, ${loopName[r.loop]}`).join(' | ')} |`);
console.log(`|---|${results.map(() => '---|').join('')}`);
for (const role of roles)
  console.log(`| ${role} | ${results.map((r) => fmt(r.cores.get(role) ?? Number.NaN, 2)).join(' | ')} |`);
/** CPU time of the system, its services and the load generator, per completed task. */
const perTask = (r: Result) => {
  const cores = [...r.cores]
    .filter(([role]) => role !== 'other processes' && role !== 'machine (all processes)')
    .reduce((sum, [, used]) => sum + used, 0);
  return (cores / r.throughput) * 1000;
};
console.log(
  `| **CPU ms per task** (all but other processes) | ${results.map((r) => fmt(perTask(r), 2)).join(' | ')} |`,
);
