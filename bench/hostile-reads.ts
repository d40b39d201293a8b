import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Agent, request } from 'node:http';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Tenant } from '../src/events/tenant.js';
import { newId } from '../src/shared/ids.js';
import { openSqliteEventStore } from '../src/store/sqlite/sqlite-event-store.js';
import type { AttackOptions, AttackResult, ReadKind } from './hostile-client.js';
import { IDLE_SOCKET_MS, percentile, tenantHeaders } from './support.js';

// One tenant loops the reads that fold or scan its long history while another tenant's
// commands are timed: the victim's accept latency and /health, quiet and under attack.

export const hostileTenant: Tenant = { org_id: 'hostile', project_id: 'bench' };
const victimOrg = 'victim';
const HOSTILE_KEY = 'hostile-bench-key-0123456789';
const root = resolve(import.meta.dirname, '..');

/**
 * The settings of the NEXUS under attack: the hostile tenant calls with a named key of its own,
 * so per-key limits count it and not the victim (who uses NEXUS_API_KEY), and the tenant rate
 * limit is on, at its default.
 */
export function hostileEnv(ratePerSecond = 200): Record<string, string> {
  const principal = {
    id: 'hostile',
    key_sha256: createHash('sha256').update(HOSTILE_KEY).digest('hex'),
    roles: ['requester'],
    tenants: [`${hostileTenant.org_id}/${hostileTenant.project_id}`],
  };
  return {
    NEXUS_PRINCIPALS: JSON.stringify([principal]),
    RATE_LIMIT_PER_SECOND: String(ratePerSecond),
    ...(process.env.BENCH_EXTRA_ENV ? (JSON.parse(process.env.BENCH_EXTRA_ENV) as Record<string, string>) : {}),
  };
}

/** The events of one finished command: echo.test mostly, every 25th a memory.set, every 50th a RED ask approved then run. */
function commandLife(n: number, at: string) {
  const type = n % 50 === 49 ? 'external_share.prepare' : n % 25 === 0 ? 'memory.set' : 'echo.test';
  const ids = { command_id: `cmd-${n}`, task_id: `task-${n}`, command_type: type };
  const params =
    type === 'external_share.prepare'
      ? { recipient: `r${n}@example.com` }
      : type === 'memory.set'
        ? { key: `key-${n % 200}`, value: { n } }
        : { n };
  const result = type === 'memory.set' ? { key: params.key } : { echo: params };
  const risk = type === 'external_share.prepare' ? 'RED' : 'GREEN';
  const events: Array<{ type: string; data: Record<string, unknown> }> = [
    { type: 'CommandAccepted', data: { ...ids, params, risk_level: risk, description: type, requested_by: 'bench' } },
  ];
  if (risk === 'RED') {
    const ask = { ...ids, ask_id: `ask-${n}`, payload_hash: 'h'.repeat(64) };
    events.push(
      {
        type: 'AskCreated',
        data: {
          ...ask,
          risk_level: 'RED',
          description: 'share',
          params,
          requested_by: 'bench',
          expires_at: at,
          options: ['approve', 'deny'],
        },
      },
      { type: 'AskApproved', data: { ...ask, decided_by: 'reviewer' } },
    );
  }
  events.push(
    { type: 'TaskQueued', data: { ...ids, attempt: 1 } },
    { type: 'TaskStarted', data: { ...ids, attempt: 1, executor_id: 'bench' } },
    { type: 'TaskSucceeded', data: { ...ids, attempt: 1, result, duration_ms: 0.1 } },
  );
  return events;
}

/**
 * Writes a long history for the hostile tenant straight into a data folder, as bench/replay.ts
 * does: `commands` finished command lives, their memory.set commands' `MemorySet` events in the
 * tenant's memory stream after each batch. Answers the head position.
 */
export async function seedHostileLog(dataDir: string, commands: number): Promise<number> {
  const store = await openSqliteEventStore({ path: join(dataDir, 'nexus.db') });
  const at = new Date().toISOString();
  const metadata = { correlation_id: 'seed', occurred_at: at, actor: 'bench' };
  const stamp = (event: { type: string; data: Record<string, unknown> }) => ({
    ...event,
    event_id: newId(),
    version: 1,
    metadata,
  });
  for (let batch = 0; batch < commands; batch += 2000) {
    const numbers = Array.from({ length: Math.min(2000, commands - batch) }, (_, i) => batch + i);
    await Promise.all(
      numbers.map((n) => store.append(hostileTenant, `command-cmd-${n}`, commandLife(n, at).map(stamp), 'no_stream')),
    );
    const sets = numbers.filter((n) => n % 25 === 0 && n % 50 !== 49);
    const memory = sets.map((n) =>
      stamp({ type: 'MemorySet', data: { key: `key-${n % 200}`, value: { n }, by: 'bench' } }),
    );
    if (memory.length > 0) await store.append(hostileTenant, 'memory', memory, 'any');
  }
  const head = await store.headPosition();
  await store.close();
  return head;
}

export interface VictimRun {
  readonly sent: number;
  /** Answers other than 202, and requests that failed or got no answer in time. */
  readonly refused: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly health: {
    readonly samples: number;
    readonly failed: number;
    readonly p50: number;
    readonly p99: number;
    readonly max: number;
  };
  /** How late the load generator sent, at worst (its own event loop): latencies below this are not trustworthy. */
  readonly maxSendLagMs: number;
}

/** A keep-alive GET or POST timed from the moment it is sent to the end of its answer. */
function timedRequest(
  agent: Agent,
  url: URL,
  headers: Record<string, string | number>,
  body?: string,
): Promise<{ status: number | 'error'; ms: number }> {
  const sent = performance.now();
  return new Promise((done) => {
    const finish = (status: number | 'error') => done({ status, ms: performance.now() - sent });
    const req = request(
      url,
      { method: body === undefined ? 'GET' : 'POST', agent, headers, timeout: 60_000 },
      (res) => {
        res.resume();
        res.on('end', () => finish(res.statusCode ?? 0));
        res.on('close', () => finish('error'));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => finish('error'));
    req.end(body);
  });
}

const summary = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN };
};

/**
 * The victim: echo.test commands at `rate` per second, open loop (each leaves at its time,
 * whatever the answers to the previous ones), each timed from its send to its 202; `/health`
 * every 50 ms the same way.
 */
async function victimRun(url: string, rate: number, seconds: number, tag: string): Promise<VictimRun> {
  const commands = new Agent({ keepAlive: true, maxSockets: 64, timeout: IDLE_SOCKET_MS });
  const probes = new Agent({ keepAlive: true, maxSockets: 8, timeout: IDLE_SOCKET_MS });
  const commandUrl = new URL('/sidecar/command', url);
  const healthUrl = new URL('/health', url);
  const headers = { ...tenantHeaders(victimOrg), 'content-type': 'application/json' };
  const accepts: Array<Promise<{ status: number | 'error'; ms: number }>> = [];
  const probesSent: Array<Promise<{ status: number | 'error'; ms: number }>> = [];
  const total = Math.round(rate * seconds);
  const probeTotal = Math.floor((seconds * 1000) / 50);
  const started = performance.now();
  let maxSendLagMs = 0;
  await new Promise<void>((finished) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - started) / 1000) * rate));
      for (let n = accepts.length; n < due; n++) {
        maxSendLagMs = Math.max(maxSendLagMs, now - (started + (n * 1000) / rate));
        const body = JSON.stringify({ command_type: 'echo.test', params: { n }, correlation_id: `${tag}-${n}` });
        accepts.push(
          timedRequest(commands, commandUrl, { ...headers, 'content-length': Buffer.byteLength(body) }, body),
        );
      }
      const probesDue = Math.min(probeTotal, Math.floor((now - started) / 50));
      while (probesSent.length < probesDue) probesSent.push(timedRequest(probes, healthUrl, {}));
      if (accepts.length >= total && probesSent.length >= probeTotal) finished();
      else setTimeout(tick, 1);
    };
    tick();
  });
  const answers = await Promise.all(accepts);
  const health = await Promise.all(probesSent);
  commands.destroy();
  probes.destroy();
  const accepted = answers.filter((a) => a.status === 202).map((a) => a.ms);
  const healthy = health.filter((a) => a.status === 200).map((a) => a.ms);
  return {
    sent: total,
    refused: total - accepted.length,
    ...summary(accepted),
    health: { samples: health.length, failed: health.length - healthy.length, ...summary(healthy) },
    maxSendLagMs,
  };
}

/** The attacker as a process of its own (bench/hostile-client.ts), under the same TypeScript loader as NEXUS's tests. */
function startAttacker(options: AttackOptions) {
  const tsx = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  const child = fork(join(root, 'bench', 'hostile-client.ts'), [], {
    execArgv: ['--import', tsx],
    env: { PATH: process.env.PATH, HOSTILE_OPTIONS: JSON.stringify(options) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const started = new Promise<void>((ready, fail) => {
    child.once('message', () => ready());
    child.once('exit', (code) => fail(new Error(`the attacker exited with ${code} before starting`)));
  });
  return {
    started,
    stop: () =>
      new Promise<AttackResult>((done, fail) => {
        child.once('message', (result) => done(result as AttackResult));
        child.once('exit', (code) => fail(new Error(`the attacker exited with ${code} before answering`)));
        child.send('stop');
      }),
  };
}

export interface HostileReadsOptions {
  /** Head position of the hostile tenant's seeded history (`seedHostileLog`). */
  readonly head: number;
  /** Victim commands per second. */
  readonly rate: number;
  readonly seconds: number;
  /** Victim load sent before the quiet run and not counted (JIT, connections, SQLite pages). */
  readonly warmupSeconds: number;
  /** Concurrent attacker loops. */
  readonly clients: number;
  /** Attacker requests per second, all clients together: the tenant's rate limit. */
  readonly hostileRate: number;
}

export interface HostileReadsResult {
  /** The hostile tenant's first past snapshot after the start: its whole history is folded once (then checkpoints serve). */
  readonly firstLoadMs: number;
  readonly quiet: VictimRun;
  readonly hostile: VictimRun;
  readonly attack: {
    readonly seconds: number;
    readonly cores: number;
    readonly byStatus: Record<string, number>;
    readonly byKind: Record<ReadKind, { statuses: Record<string, number>; p50: number; max: number }>;
  };
}

/**
 * The victim's commands and /health, first on a quiet NEXUS, then while the hostile tenant
 * loops expensive reads with its own key (started a second before the victim's run and
 * stopped after it). One NEXUS for both runs, so they differ only by the attack. The hostile
 * tenant's history is folded once before the quiet run (timed on its own): what is measured is
 * a tenant that keeps looping the reads, not the first one after a start.
 */
export async function benchHostileReads(url: string, options: HostileReadsOptions): Promise<HostileReadsResult> {
  await victimRun(url, options.rate, options.warmupSeconds, 'warm');
  const loading = performance.now();
  const first = await fetch(`${url}/agent/snapshot?at=${Math.ceil(options.head / 2)}`, {
    headers: { 'x-api-key': HOSTILE_KEY, 'x-org-id': hostileTenant.org_id, 'x-project-id': hostileTenant.project_id },
  });
  await first.arrayBuffer();
  const firstLoadMs = performance.now() - loading;
  // The quiet run also lets the hostile key earn back the time its first read was charged.
  const quiet = await victimRun(url, options.rate, options.seconds, 'quiet');
  const attacker = startAttacker({
    url,
    key: HOSTILE_KEY,
    org: hostileTenant.org_id,
    project: hostileTenant.project_id,
    head: options.head,
    clients: options.clients,
    rate: options.hostileRate,
  });
  await attacker.started;
  await new Promise((wait) => setTimeout(wait, 1000));
  const hostile = await victimRun(url, options.rate, options.seconds, 'hostile');
  const attack = await attacker.stop();
  const byStatus: Record<string, number> = {};
  for (const statuses of Object.values(attack.statuses)) {
    for (const [status, count] of Object.entries(statuses)) byStatus[status] = (byStatus[status] ?? 0) + count;
  }
  const byKind = Object.fromEntries(
    Object.entries(attack.statuses).map(([kind, statuses]) => {
      const { p50, max } = summary(attack.durations[kind as ReadKind]);
      return [kind, { statuses, p50, max }];
    }),
  ) as HostileReadsResult['attack']['byKind'];
  return { firstLoadMs, quiet, hostile, attack: { seconds: attack.seconds, cores: attack.cores, byStatus, byKind } };
}
