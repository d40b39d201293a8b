import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { SystemUnderTest } from './distributed.js';

// CPU used per process and per service during a benchmark phase, read from /proc (Linux).

const CLOCK_TICKS = 100;
export const CORES = availableParallelism();

/** CPU ticks (user + system) of a process so far; 0 if it is gone. */
function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** The shared services' processes on this machine, by their role. */
function servicePids(): Map<number, string> {
  const roles: Record<string, string> = { postgres: 'PostgreSQL', 'redis-server': 'Redis', 'beam.smp': 'RabbitMQ' };
  const pids = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const role = roles[readFileSync(`/proc/${entry}/comm`, 'utf8').trim()];
      if (role) pids.set(Number(entry), role);
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** The machine's busy and total CPU ticks, over all cores. */
function machineTicks(): { busy: number; total: number } {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - ticks[3]! - ticks[4]!, total };
}

/** Cores each role used between `start()` and `stop()`. */
export function cpuMeter(system: Pick<SystemUnderTest, 'processes'>) {
  const pids = new Map<number, string>([
    ...servicePids(),
    ...system.processes.map(({ pid, role }) => [pid, role] as const),
  ]);
  const before = new Map([...pids.keys()].map((pid) => [pid, cpuTicks(pid)]));
  const machine = machineTicks();
  const self = process.cpuUsage();
  const started = performance.now();
  return () => {
    const wall = (performance.now() - started) / 1000;
    const cores = new Map<string, number>();
    // A process that left meanwhile (a service restarted by someone else) counts as idle.
    for (const [pid, role] of pids)
      cores.set(role, (cores.get(role) ?? 0) + Math.max(0, cpuTicks(pid) - before.get(pid)!) / CLOCK_TICKS / wall);
    const used = process.cpuUsage(self);
    cores.set('load generator', (used.user + used.system) / 1e6 / wall);
    const now = machineTicks();
    const busy = ((now.busy - machine.busy) / (now.total - machine.total)) * CORES;
    // Whatever else runs on the machine meanwhile (other test runs, builds) skews the figures.
    cores.set('other processes', Math.max(0, busy - [...cores.values()].reduce((a, b) => a + b, 0)));
    cores.set('machine (all processes)', busy);
    return cores;
  };
}
