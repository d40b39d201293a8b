import type { RecordedEvent } from '../events/envelope.js';
import type { RiskLevel } from '../events/command-events.js';
import type { NexusEvent } from '../events/registry.js';
import type { Tenant } from '../events/tenant.js';
import { countCommands, countsOf, fromCounts, noCommands, type CommandCounts, type Counts } from './command-counts.js';
import type { Executors } from './executors.js';
import { DEAD_LETTERS_KEEP, evolveDeadLetters, type DeadLetter } from './held-tasks.js';
import {
  addToWorklog,
  emptyWorklog,
  worklogEntries,
  worklogEntry,
  type Worklog,
  type WorklogEntry,
} from './worklog.js';

/** The autopilot's status and its counts (queued counts retry-scheduled tasks too). */
export interface Autopilot extends Counts {
  readonly status: 'idle' | 'running' | 'paused';
}

export interface PendingAsk {
  readonly ask_id: string;
  readonly command_id: string;
  readonly task_id: string;
  readonly command_type: string;
  readonly correlation_id: string;
  readonly risk_level: RiskLevel;
  readonly description: string;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly payload_hash: string;
  readonly requested_by: string;
  readonly created_at: string;
  readonly expires_at: string;
  readonly options: readonly string[];
}

export interface Executor {
  readonly in_flight: readonly string[];
  readonly last_seen_at: string;
  readonly completed: number;
  readonly failed: number;
  /** Worker processes (distributed mode) also tell what they can run and whether they are alive. */
  readonly kind?: 'worker';
  readonly capabilities?: readonly string[];
  readonly host?: string;
  readonly status?: 'active' | 'left';
  readonly joined_at?: string;
  readonly last_heartbeat_at?: string;
}

/** What the supervisor knows live about the worker processes, merged into every view. */
export interface LiveExecutors {
  readonly executors: Executors;
  /** Last heartbeat per worker id, ISO time. */
  readonly heartbeats: ReadonlyMap<string, string>;
}

/** The read model of one tenant, as folded from its events. */
export interface SnapshotState {
  /** Position of the last event folded in. */
  readonly position: number;
  readonly paused: boolean;
  /** Each counted command's status, as the command-life `evolve` folds it: what the autopilot's counts are derived from. */
  readonly commands: CommandCounts;
  readonly worklog: Worklog;
  readonly asks: readonly PendingAsk[];
  readonly memory: Readonly<Record<string, unknown>>;
  readonly sidecar: Readonly<Record<string, Executor>>;
  /** Dead-lettered tasks not yet requeued or discarded (held ones wait for a person). */
  readonly dead_letters: readonly DeadLetter[];
}

/** What the SSE `snapshot` event and `GET /agent/snapshot` carry. */
export interface Snapshot {
  readonly autopilot: Autopilot;
  readonly worklog: readonly WorklogEntry[];
  readonly asks: readonly PendingAsk[];
  readonly memory: Readonly<Record<string, unknown>>;
  readonly sidecar: Readonly<Record<string, Executor>>;
  readonly dead_letters: readonly DeadLetter[];
  readonly org_id: string;
  readonly project_id: string;
  /** The event position this snapshot is consistent with. */
  readonly position: number;
  readonly timestamp: string;
}

export interface SnapshotOptions {
  /** `STREAM_WORKLOG_KEEP`: the latest entries kept. */
  readonly worklogKeep: number;
  /** Executors remembered once idle. */
  readonly executorsKeep?: number;
  /** `DEAD_LETTERS_KEEP`: dead letters listed at most. */
  readonly deadLettersKeep?: number;
}

export const initialSnapshot = (): SnapshotState => ({
  position: 0,
  paused: false,
  commands: noCommands,
  worklog: emptyWorklog,
  asks: [],
  memory: {},
  sidecar: {},
  dead_letters: [],
});

/** A tenant's memory after one more event (only MemorySet and MemoryDeleted change it). */
export function remember(memory: SnapshotState['memory'], event: NexusEvent): SnapshotState['memory'] {
  if (event.type === 'MemorySet') return Object.assign({}, memory, { [event.data.key]: event.data.value });
  if (event.type !== 'MemoryDeleted' || !(event.data.key in memory)) return memory;
  const { [event.data.key]: _deleted, ...rest } = memory;
  return rest;
}

const resolvesAsk = (
  event: NexusEvent,
): event is Extract<NexusEvent, { type: 'AskApproved' | 'AskDenied' | 'AskExpired' }> =>
  event.type === 'AskApproved' || event.type === 'AskDenied' || event.type === 'AskExpired';

function pendingAsk(event: RecordedEvent<NexusEvent>): PendingAsk | undefined {
  if (event.type !== 'AskCreated') return undefined;
  const { params, warn_at: _warnAt, ...ask } = event.data;
  return {
    payload: params,
    correlation_id: event.metadata.correlation_id,
    created_at: event.metadata.occurred_at,
    ...ask,
  };
}

function trackExecutors(
  sidecar: SnapshotState['sidecar'],
  event: RecordedEvent<NexusEvent>,
  keep: number,
): SnapshotState['sidecar'] {
  if (event.type !== 'TaskStarted' && event.type !== 'TaskSucceeded' && event.type !== 'TaskFailed') return sidecar;
  const startedBy = event.type === 'TaskStarted' ? event.data.executor_id : undefined;
  const id = startedBy ?? Object.keys(sidecar).find((key) => sidecar[key]!.in_flight.includes(event.data.task_id));
  if (id === undefined) return sidecar;
  const before = sidecar[id] ?? { in_flight: [], last_seen_at: event.metadata.occurred_at, completed: 0, failed: 0 };
  // Spread first: what else is known of the executor (a worker's capabilities, say) stays.
  const after: Executor = {
    ...before,
    in_flight: startedBy
      ? [...before.in_flight, event.data.task_id]
      : before.in_flight.filter((t) => t !== event.data.task_id),
    last_seen_at: event.metadata.occurred_at,
    completed: before.completed + (event.type === 'TaskSucceeded' ? 1 : 0),
    failed: before.failed + (event.type === 'TaskFailed' ? 1 : 0),
  };
  return forgetIdle(Object.assign({}, sidecar, { [id]: after }), keep);
}

/** Keeps at most `keep` executors, forgetting the longest-idle ones first. */
function forgetIdle(sidecar: SnapshotState['sidecar'], keep: number): SnapshotState['sidecar'] {
  const ids = Object.keys(sidecar);
  if (ids.length <= keep) return sidecar;
  const idle = ids
    .filter((id) => sidecar[id]!.in_flight.length === 0)
    .sort((a, b) => sidecar[a]!.last_seen_at.localeCompare(sidecar[b]!.last_seen_at));
  const drop = new Set(idle.slice(0, ids.length - keep));
  return Object.fromEntries(Object.entries(sidecar).filter(([id]) => !drop.has(id)));
}

/**
 * The snapshot projection: a pure fold of a tenant's events. Events at or before the
 * state's position are ignored, so feeding the same events twice changes nothing.
 */
export function snapshotProjection(options: SnapshotOptions) {
  const executorsKeep = options.executorsKeep ?? 32;
  const deadLettersKeep = options.deadLettersKeep ?? DEAD_LETTERS_KEEP;
  const evolve = (state: SnapshotState, recorded: RecordedEvent): SnapshotState => {
    if (recorded.position <= state.position) return state;
    const event = recorded;
    const entry = worklogEntry(event);
    const ask = pendingAsk(event);
    return {
      position: event.position,
      paused: event.type === 'AutopilotPaused' ? true : event.type === 'AutopilotResumed' ? false : state.paused,
      commands: countCommands(state.commands, event),
      worklog: entry ? addToWorklog(state.worklog, entry, options.worklogKeep) : state.worklog,
      asks: ask
        ? [...state.asks, ask]
        : resolvesAsk(event)
          ? state.asks.filter((a) => a.ask_id !== event.data.ask_id)
          : state.asks,
      memory: remember(state.memory, event),
      sidecar: trackExecutors(state.sidecar, event, executorsKeep),
      dead_letters: evolveDeadLetters(state.dead_letters, event, deadLettersKeep),
    };
  };
  /** `at.current`: the view is of the tenant as it is now (a stream about to go live), whatever the position. */
  const view = (
    state: SnapshotState,
    at: { tenant: Tenant; position: number; timestamp: string; current?: boolean },
    live?: LiveExecutors,
  ): Snapshot => snapshotView(state, { ...at, worklogKeep: options.worklogKeep }, live);
  // Neither a command's params nor a task's result shows in a snapshot (an ask's params do).
  return { initialState: initialSnapshot, evolve, view, withoutPayloads: true };
}

export type SnapshotProjection = ReturnType<typeof snapshotProjection>;

/**
 * The state a snapshot was viewed from, so a client that received one (the dashboard) can fold
 * the reports after it with `evolve`. Live worker details ride along in `sidecar`; of the
 * commands it knows the counts, and which tasks are in flight (see `fromCounts`).
 */
export function stateOf(snapshot: Snapshot, worklogKeep: number): SnapshotState {
  const { status: _status, ...counts } = snapshot.autopilot;
  const inFlight = Object.values(snapshot.sidecar).flatMap((executor) => executor.in_flight);
  return {
    position: snapshot.position,
    paused: snapshot.autopilot.status === 'paused',
    commands: fromCounts(counts, inFlight),
    worklog: snapshot.worklog.reduce((log, entry) => addToWorklog(log, entry, worklogKeep), emptyWorklog),
    asks: snapshot.asks,
    memory: snapshot.memory,
    sidecar: snapshot.sidecar,
    dead_letters: snapshot.dead_letters,
  };
}

/** The snapshot as clients see it: consistent with `position`, stamped at `timestamp`. */
function snapshotView(
  state: SnapshotState,
  at: { tenant: Tenant; position: number; timestamp: string; worklogKeep: number },
  live?: LiveExecutors,
): Snapshot {
  const counts = countsOf(state.commands);
  const busy = counts.queued + counts.running > 0;
  return {
    autopilot: { status: state.paused ? 'paused' : busy ? 'running' : 'idle', ...counts },
    worklog: worklogEntries(state.worklog, at.worklogKeep),
    asks: state.asks,
    memory: state.memory,
    sidecar: live ? withWorkers(state.sidecar, live) : state.sidecar,
    dead_letters: state.dead_letters,
    org_id: at.tenant.org_id,
    project_id: at.tenant.project_id,
    position: Math.max(at.position, state.position),
    timestamp: at.timestamp,
  };
}

/** The tenant's executors with every active worker process added (and this tenant's work on it). */
function withWorkers(sidecar: SnapshotState['sidecar'], live: LiveExecutors): SnapshotState['sidecar'] {
  const merged: Record<string, Executor> = { ...sidecar };
  for (const worker of live.executors.values()) {
    if (worker.status !== 'active' && !(worker.worker_id in sidecar)) continue;
    const work = sidecar[worker.worker_id] ?? {
      in_flight: [],
      last_seen_at: worker.joined_at,
      completed: 0,
      failed: 0,
    };
    const heartbeat = live.heartbeats.get(worker.worker_id);
    merged[worker.worker_id] = {
      ...work,
      kind: 'worker',
      capabilities: worker.capabilities,
      host: worker.host,
      status: worker.status,
      joined_at: worker.joined_at,
      ...(heartbeat === undefined ? {} : { last_heartbeat_at: heartbeat }),
    };
  }
  return merged;
}
