import type { WorklogEntry } from './worklog.js';
import type { Autopilot, PendingAsk, Snapshot } from './snapshot.js';

/** What changed between two snapshots of one tenant. */
export interface SnapshotDiff {
  readonly from: number;
  readonly to: number;
  /** Absent when the autopilot did not change. */
  readonly autopilot?: { readonly before: Autopilot; readonly after: Autopilot };
  /** Lines written in between (at most the worklog's length: older ones are gone from it). */
  readonly worklog: { readonly added: readonly WorklogEntry[] };
  readonly asks: { readonly added: readonly PendingAsk[]; readonly resolved: readonly string[] };
  readonly memory: { readonly set: Readonly<Record<string, unknown>>; readonly deleted: readonly string[] };
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** A pure comparison of two snapshot views, `before` the older. */
export function diffSnapshots(before: Snapshot, after: Snapshot): SnapshotDiff {
  const beforeAsks = new Set(before.asks.map((ask) => ask.ask_id));
  const afterAsks = new Set(after.asks.map((ask) => ask.ask_id));
  const set = Object.fromEntries(
    Object.entries(after.memory).filter(([key, value]) => !(key in before.memory) || !same(before.memory[key], value)),
  );
  return {
    from: before.position,
    to: after.position,
    ...(same(before.autopilot, after.autopilot)
      ? {}
      : { autopilot: { before: before.autopilot, after: after.autopilot } }),
    worklog: { added: after.worklog.filter((entry) => entry.position > before.position) },
    asks: {
      added: after.asks.filter((ask) => !beforeAsks.has(ask.ask_id)),
      resolved: before.asks.filter((ask) => !afterAsks.has(ask.ask_id)).map((ask) => ask.ask_id),
    },
    memory: { set, deleted: Object.keys(before.memory).filter((key) => !(key in after.memory)) },
  };
}
