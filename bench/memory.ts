import { mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as pause } from 'node:timers/promises';
import { spawnNexus } from '../test/support/nexus-process.js';
import { IDLE_SOCKET_MS, tenantHeaders } from './support.js';

// Big commands, then a restart on their log: the NEXUS process's resident memory (RSS, read from
// /proc) while it takes them, while it stops and starts again, and once it serves again.

const org = 'memory';
const MB = 1024 * 1024;

/** kB → MB */
const megabytes = (kb: number) => kb / 1024;

/** A /proc/<pid>/status field in kB (VmRSS, VmHWM); undefined once the process is gone. */
function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** This process's children running the NEXUS build: found from /proc, so one still starting counts too. */
function nexusChildren(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (
        ppid === process.pid &&
        readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('dist/src/main/supervisor-main.js')
      )
        pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * RSS of the NEXUS children every `everyMs`, tagged with the phase the benchmark is in. A spike
 * shorter than the interval can fall between samples: the peaks also read VmHWM (the kernel's
 * high-water mark of the process).
 */
function rssSampler(everyMs = 50) {
  const samples: Array<{ phase: string; kb: number }> = [];
  let phase = 'start';
  let known: number[] = [];
  const timer = setInterval(() => {
    if (known.length === 0 || known.some((pid) => statusKb(pid, 'VmRSS') === undefined)) known = nexusChildren();
    for (const pid of known) {
      const kb = statusKb(pid, 'VmRSS');
      if (kb !== undefined) samples.push({ phase, kb });
    }
  }, everyMs);
  return {
    phase: (name: string) => (phase = name),
    peakMb: (...phases: string[]) =>
      megabytes(samples.reduce((peak, s) => (phases.includes(s.phase) ? Math.max(peak, s.kb) : peak), 0)),
    medianMb: (name: string) => {
      const values = samples
        .filter((s) => s.phase === name)
        .map((s) => s.kb)
        .sort((a, b) => a - b);
      return megabytes(values[Math.floor(values.length / 2)] ?? NaN);
    },
    stop: () => clearInterval(timer),
  };
}

type Snapshot = {
  autopilot: { queued: number; running: number; dead_lettered: number };
  worklog: Array<{ correlation_id: string; text: string }>;
};

async function snapshot(url: string): Promise<Snapshot> {
  const response = await fetch(`${url}/agent/snapshot`, { headers: tenantHeaders(org) });
  if (!response.ok) throw new Error(`GET /agent/snapshot: ${response.status}`);
  return (await response.json()) as Snapshot;
}

/** `count` echo.test commands of about `bytes` each, `concurrency` at a time: the statuses they got. */
async function sendBig(url: string, count: number, bytes: number, concurrency: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, timeout: IDLE_SOCKET_MS });
  const target = new URL('/sidecar/command', url);
  const headers = { ...tenantHeaders(org), 'content-type': 'application/json' };
  const statuses: Record<string, number> = {};
  const blobOf = (n: number) => 'x'.repeat(Math.max(0, bytes - 80 - String(n).length * 2));
  const send = (n: number) =>
    new Promise<string>((done) => {
      const body = `{"command_type":"echo.test","correlation_id":"mem-${n}","params":{"n":${n},"blob":"${blobOf(n)}"}}`;
      const req = request(
        target,
        { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => done(String(res.statusCode)));
        },
      );
      req.on('error', () => done('error'));
      req.end(body);
    });
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const status = await send(next++);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }),
  );
  agent.destroy();
  return statuses;
}

/**
 * Waits until nothing is queued or running (every accepted command has run to its end), twice
 * in a row, so a snapshot that had not yet caught up with the last 202 does not count.
 */
async function drained(url: string, timeoutMs: number): Promise<Snapshot['autopilot']> {
  const deadline = Date.now() + timeoutMs;
  let idle = 0;
  for (;;) {
    const { autopilot } = await snapshot(url);
    idle = autopilot.queued + autopilot.running === 0 ? idle + 1 : 0;
    if (idle === 2) return autopilot;
    if (Date.now() > deadline)
      throw new Error(`still ${autopilot.queued} queued and ${autopilot.running} running after ${timeoutMs / 1000} s`);
    await pause(250);
  }
}

/** An SSE stream from Last-Event-ID: 0: how many reports it delivered before `reports` were read, `maxBytes` or 30 s. */
async function replayFromStart(url: string, reports: number, maxBytes: number): Promise<number> {
  const response = await fetch(`${url}/agent/reports/stream`, {
    headers: { ...tenantHeaders(org), accept: 'text/event-stream', 'last-event-id': '0' },
    signal: AbortSignal.timeout(30_000),
  });
  if (response.status !== 200 || !response.body) return 0;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let seen = 0;
  let bytes = 0;
  let tail = '';
  try {
    while (seen < reports && bytes < maxBytes) {
      const { value, done } = await reader.read();
      if (done) break;
      bytes += value.length;
      const text = tail + value;
      seen += text.split('\nevent: report\n').length - 1;
      tail = text.slice(-20);
    }
  } catch {
    // cut by the timeout: what was counted stands
  } finally {
    await reader.cancel().catch(() => {});
  }
  return seen;
}

/** After the restart: a new command is accepted and completes, the snapshot answers, a replay from 0 delivers its first reports. */
async function servesAgain(url: string): Promise<{ ok: boolean; detail: string }> {
  const response = await fetch(`${url}/sidecar/command`, {
    method: 'POST',
    headers: { ...tenantHeaders(org), 'content-type': 'application/json' },
    body: JSON.stringify({
      command_type: 'echo.test',
      params: { after: 'restart' },
      correlation_id: 'mem-after-restart',
    }),
  });
  if (response.status !== 202) return { ok: false, detail: `a new command got ${response.status}` };
  const deadline = Date.now() + 60_000;
  const completed = (s: Snapshot) =>
    s.worklog.some((line) => line.correlation_id === 'mem-after-restart' && line.text.includes('completed'));
  while (!completed(await snapshot(url))) {
    if (Date.now() > deadline) return { ok: false, detail: 'a new command did not complete within 60 s' };
    await pause(100);
  }
  const replayed = await replayFromStart(url, 3, 64 * MB);
  if (replayed < 3) return { ok: false, detail: `Last-Event-ID: 0 delivered ${replayed} reports in 30 s` };
  return { ok: true, detail: 'a new command accepted and completed, snapshot, Last-Event-ID: 0 replay' };
}

/** Bytes of the files of a folder. */
function folderBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .reduce(
      (sum, entry) => sum + (statSync(join(entry.parentPath, entry.name), { throwIfNoEntry: false })?.size ?? 0),
      0,
    );
}

export interface MemoryOptions {
  readonly commands: number;
  /** Size of each command's body. */
  readonly bytes: number;
  readonly concurrency: number;
}

export type MemoryResult =
  | { readonly skipped: string }
  | {
      readonly commands: number;
      readonly statuses: Record<string, number>;
      /** Tasks that ended dead-lettered instead of completed. */
      readonly deadLettered: number;
      readonly loadSeconds: number;
      readonly dataGb: number;
      /** MB: the first process once serving, before the load. */
      readonly fresh: number;
      /** MB: the most RSS of the first process, from its start to its exit (VmHWM, so nothing between samples is missed, and the samples while it stopped). */
      readonly loadPeak: number;
      /** MB: once they had all run. */
      readonly afterLoad: number;
      /** MB: the most RSS of the new process on that log, from its start until it served the checks (samples and VmHWM). */
      readonly restartPeak: number;
      /** MB: the most RSS of the new process until /health answered (VmHWM then). */
      readonly startPeak: number;
      readonly startSeconds: number;
      /** MB: a few seconds after the checks. */
      readonly steady: number;
      readonly served: { ok: boolean; detail: string };
    };

type Sampler = ReturnType<typeof rssSampler>;
type Env = Record<string, string>;

/** The first process: the load, until every command has run, then SIGTERM. */
async function loadAndStop(env: Env, rss: Sampler, options: MemoryOptions) {
  const nexus = await spawnNexus(env, { compiled: true });
  try {
    await pause(1000);
    const fresh = rss.medianMb('start');
    rss.phase('load');
    const loadStarted = performance.now();
    const statuses = await sendBig(nexus.url, options.commands, options.bytes, options.concurrency);
    const { dead_lettered: deadLettered } = await drained(nexus.url, 60_000 + options.commands * 500);
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    rss.phase('idle');
    await pause(2000);
    const afterLoad = rss.medianMb('idle');
    const highWater = megabytes(statusKb(nexus.child.pid!, 'VmHWM') ?? 0);
    rss.phase('stopping');
    await nexus.kill('SIGTERM');
    const loadPeak = Math.max(highWater, rss.peakMb('load', 'idle', 'stopping'));
    return { port: Number(new URL(nexus.url).port), fresh, statuses, deadLettered, loadSeconds, afterLoad, loadPeak };
  } finally {
    await nexus.kill('SIGTERM');
  }
}

/** The second process on the same log and port: until /health answers, then the checks, then a few seconds idle. */
async function restartAndServe(env: Env, rss: Sampler, port: number) {
  rss.phase('restart');
  const starting = performance.now();
  const nexus = await spawnNexus(env, { compiled: true, port });
  try {
    const startSeconds = (performance.now() - starting) / 1000;
    const startPeak = Math.max(rss.peakMb('restart'), megabytes(statusKb(nexus.child.pid!, 'VmHWM') ?? 0));
    rss.phase('checks');
    const served = await servesAgain(nexus.url).catch((error: Error) => ({ ok: false, detail: error.message }));
    const restartPeak = Math.max(rss.peakMb('restart', 'checks'), megabytes(statusKb(nexus.child.pid!, 'VmHWM') ?? 0));
    rss.phase('settle');
    await pause(3000);
    rss.phase('steady');
    await pause(2000);
    return { startSeconds, startPeak, restartPeak, served, steady: rss.medianMb('steady') };
  } finally {
    await nexus.kill('SIGTERM');
  }
}

/**
 * `commands` echo.test commands of `bytes` each (params and result both hold them, so the log
 * grows by about twice that), `concurrency` at a time, on a NEXUS of its own; once all have run,
 * SIGTERM and a new process on the same data folder, until it serves again. RSS is sampled
 * every 50 ms throughout. Skipped when the disk cannot hold the log; the folder is deleted after.
 */
export async function benchMemory(options: MemoryOptions): Promise<MemoryResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'nexus-bench-memory-'));
  const needed = options.commands * options.bytes * 2.5 + 1024 * MB;
  const { bavail, bsize } = statfsSync(dataDir);
  if (bavail * bsize < needed) {
    rmSync(dataDir, { recursive: true, force: true });
    return {
      skipped: `${(needed / 1e9).toFixed(1)} GB free needed in ${tmpdir()}, ${((bavail * bsize) / 1e9).toFixed(1)} GB there`,
    };
  }
  const env = { NEXUS_DATA_DIR: dataDir, LOG_LEVEL: 'warn', MAX_BODY_BYTES: String(Math.ceil(options.bytes * 1.1)) };
  const rss = rssSampler();
  try {
    const { port, ...load } = await loadAndStop(env, rss, options);
    const dataGb = folderBytes(dataDir) / 1e9;
    const restart = await restartAndServe(env, rss, port);
    return { commands: options.commands, dataGb, ...load, ...restart };
  } finally {
    rss.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
