import { Agent, request } from 'node:http';
import { setTimeout as pause } from 'node:timers/promises';
import { IDLE_SOCKET_MS } from './support.js';

// The attacker of the hostile-reads benchmark, as a process of its own (bench/hostile-reads.ts
// starts it) so that reading its answers never delays the victim's timers: `clients` loops,
// together at most `rate` requests per second, each asking for one of the reads that fold or
// scan the tenant's history. On `stop` (IPC) it sends back what it got and exits. Import
// only its types: importing the module starts the attack.

export interface AttackOptions {
  readonly url: string;
  readonly key: string;
  readonly org: string;
  readonly project: string;
  /** Head position of the tenant's seeded history: every position asked for is at or below it. */
  readonly head: number;
  readonly clients: number;
  readonly rate: number;
}

export const readKinds = ['snapshot_at', 'diff', 'sse_resume', 'verify', 'audit_ndjson', 'finops', 'reports'] as const;
export type ReadKind = (typeof readKinds)[number];

export interface AttackResult {
  readonly seconds: number;
  /** CPU this process used, in cores: what it took from NEXUS on a small machine. */
  readonly cores: number;
  /** Answers by kind of read and status (`error`: no answer, the connection failed). */
  readonly statuses: Record<ReadKind, Record<string, number>>;
  /** Milliseconds from request to the end of a 200 (for SSE: to the end of the snapshot event), by kind. */
  readonly durations: Record<ReadKind, number[]>;
}

const options = JSON.parse(process.env.HOSTILE_OPTIONS ?? '{}') as AttackOptions;
const agent = new Agent({ keepAlive: true, maxSockets: options.clients, timeout: IDLE_SOCKET_MS });
const headers = { 'x-api-key': options.key, 'x-org-id': options.org, 'x-project-id': options.project };
const oldPosition = () => 1 + Math.floor(Math.random() * options.head);

function path(kind: ReadKind): string {
  switch (kind) {
    case 'snapshot_at':
      return `/agent/snapshot?at=${oldPosition()}`;
    case 'diff': {
      const [from, to] = [oldPosition(), oldPosition()].sort((a, b) => a - b);
      return `/agent/snapshot/diff?from=${from}&to=${to}`;
    }
    case 'sse_resume':
      return '/agent/reports/stream';
    case 'verify':
      return '/audit/verify';
    case 'audit_ndjson':
      return '/audit/approvals?format=ndjson';
    case 'finops':
      return '/finops';
    case 'reports':
      return '/agent/reports?after=0&limit=1000';
  }
}

/** One read: its status once answered (a 200 read to its end; an SSE stream to the end of its snapshot event). */
function read(kind: ReadKind): Promise<number | 'error'> {
  const sse = kind === 'sse_resume';
  const extra = sse ? { accept: 'text/event-stream', 'last-event-id': String(oldPosition()) } : {};
  return new Promise((resolve) => {
    const req = request(new URL(path(kind), options.url), { agent, headers: { ...headers, ...extra } }, (res) => {
      const status = res.statusCode ?? 0;
      if (!sse || status !== 200) {
        res.resume();
        res.on('end', () => resolve(status));
        res.on('close', () => resolve('error'));
        return;
      }
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        const at = text.indexOf('event: snapshot');
        if (at >= 0 && text.indexOf('\n\n', at) >= 0) {
          resolve(200);
          req.destroy();
        }
      });
      res.on('close', () => resolve('error'));
    });
    req.on('error', () => resolve('error'));
    req.end();
  });
}

// BENCH_HOSTILE_KINDS=verify,diff: only those reads (to see what each costs the victim).
const kinds = process.env.BENCH_HOSTILE_KINDS ? (process.env.BENCH_HOSTILE_KINDS.split(',') as ReadKind[]) : readKinds;
const statuses = Object.fromEntries(
  readKinds.map((kind) => [kind, {} as Record<string, number>]),
) as AttackResult['statuses'];
const durations = Object.fromEntries(readKinds.map((kind) => [kind, [] as number[]])) as AttackResult['durations'];
let stopping = false;
// The pacer: request n may leave at `started + n / rate`, whichever client sends it.
let nextSlot = performance.now();
const started = nextSlot;
const cpuAtStart = process.cpuUsage();

async function client(offset: number) {
  for (let n = offset; !stopping; n++) {
    const slot = nextSlot;
    nextSlot = Math.max(nextSlot, performance.now()) + 1000 / options.rate;
    const wait = slot - performance.now();
    if (wait > 0) await pause(wait);
    if (stopping) return;
    const kind = kinds[n % kinds.length]!;
    const sent = performance.now();
    const status = await read(kind);
    // What was cut by the stop is not counted.
    if (stopping) return;
    statuses[kind][status] = (statuses[kind][status] ?? 0) + 1;
    if (status === 200) durations[kind].push(performance.now() - sent);
  }
}

for (let i = 0; i < options.clients; i++) void client(i);
process.send?.('started');
process.on('message', (message) => {
  if (message !== 'stop') return;
  stopping = true;
  const seconds = (performance.now() - started) / 1000;
  const { user, system } = process.cpuUsage(cpuAtStart);
  const result: AttackResult = { seconds, cores: (user + system) / 1e6 / seconds, statuses, durations };
  agent.destroy();
  process.send?.(result, () => process.exit(0));
});
