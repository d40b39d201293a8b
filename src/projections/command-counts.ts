import {
  evolve,
  initialState,
  type AcceptedCommand,
  type CommandLifeState,
  type TriageStatus,
} from '../commands/command-life.js';
import type { CommandLifeEvent } from '../events/command-events.js';
import type { RecordedEvent } from '../events/envelope.js';
import { emptyTrie, trieDelete, trieGet, trieSet, type HashTrie } from './hash-trie.js';

/** What the snapshot's autopilot counts. */
export interface Counts {
  readonly queued: number;
  readonly running: number;
  readonly awaiting_approval: number;
  readonly dead_lettered: number;
}

/** A command's status as the command-life `evolve` folds it, a dead letter's with its triage. */
export type Status = Exclude<CommandLifeState['status'], 'dead_lettered'> | `dead_lettered:${TriageStatus}`;

/**
 * The counts of a tenant, derived from each command's status. A command in a counted status is
 * held by task id (one per command, and the id a snapshot's in-flight lists carry) with its status
 * and nothing else; one in no count (accepted, requeued: on its way to one) or finished is not,
 * as the status an event requires tells where it was. A dead letter kept without a triage rule is
 * finished for the dispatcher, but an admin may requeue or discard it whenever: such ones, which
 * may pile up without end, are counted in `unlisted` instead of held.
 */
export interface CommandCounts {
  readonly statuses: HashTrie<Status>;
  /** How many of `statuses` each count holds: moved along with every change of `statuses`. */
  readonly listed: Counts;
  /**
   * Commands counted without their status held: kept dead letters. A state made from a snapshot
   * view (`fromCounts`) starts with here all of the view's counts but the tasks in flight.
   */
  readonly unlisted: Counts;
}

const zero: Counts = Object.freeze({ queued: 0, running: 0, awaiting_approval: 0, dead_lettered: 0 });

export const noCommands: CommandCounts = Object.freeze({ statuses: emptyTrie<Status>(), listed: zero, unlisted: zero });

/** Which count each status is in, if any; a kept dead letter's is `unlisted`. */
const countOf: Record<Status, { readonly count?: keyof Counts; readonly unlisted?: true }> = {
  absent: {},
  accepted: {},
  awaiting_approval: { count: 'awaiting_approval' },
  queued: { count: 'queued' },
  retry_scheduled: { count: 'queued' },
  running: { count: 'running' },
  succeeded: {},
  denied: {},
  expired: {},
  'dead_lettered:pending': { count: 'dead_lettered' },
  'dead_lettered:held': { count: 'dead_lettered' },
  'dead_lettered:kept': { count: 'dead_lettered', unlisted: true },
  'dead_lettered:requeued': {},
  'dead_lettered:discarded': {},
};

const statusOf = (state: CommandLifeState): Status =>
  state.status === 'dead_lettered' ? `dead_lettered:${state.triage}` : state.status;

// One state per status, for the command-life `evolve` to fold an event onto: what comes out
// depends on the status and the event, never on the command's details, so they are blank.
const blank: AcceptedCommand = Object.freeze({
  command_id: '',
  task_id: '',
  command_type: '',
  params: {},
  risk_level: 'GREEN',
  description: '',
  requested_by: '',
});
const deadLetter = (triage: TriageStatus): CommandLifeState => ({
  status: 'dead_lettered',
  command: blank,
  attempts: 0,
  error: { code: '', message: '' },
  triage,
});
const lifeOf: Record<Status, CommandLifeState> = {
  absent: initialState(),
  accepted: { status: 'accepted', command: blank },
  awaiting_approval: {
    status: 'awaiting_approval',
    command: blank,
    ask: { ask_id: '', payload_hash: '', expires_at: '', warned: false },
  },
  queued: { status: 'queued', command: blank, attempt: 0 },
  retry_scheduled: { status: 'retry_scheduled', command: blank, attempt: 0, retry_at: '' },
  running: { status: 'running', command: blank, attempt: 0, executor_id: '' },
  succeeded: { status: 'succeeded', command: blank, attempt: 0 },
  denied: { status: 'denied', command: blank, ask_id: '' },
  expired: { status: 'expired', command: blank, ask_id: '' },
  'dead_lettered:pending': deadLetter('pending'),
  'dead_lettered:held': deadLetter('held'),
  'dead_lettered:kept': deadLetter('kept'),
  'dead_lettered:requeued': deadLetter('requeued'),
  'dead_lettered:discarded': deadLetter('discarded'),
};

/**
 * The status a command must be in for the deciders to record an event of each type, likeliest
 * first: what a command not held (a kept dead letter, or work a snapshot only counted) was in.
 * A task fails, or is dead-lettered, from running, or straight from queued when the payload to
 * run is not the approved one.
 */
const statusBefore: Record<CommandLifeEvent['type'], readonly Status[]> = {
  CommandAccepted: ['absent'],
  RiskWarningRaised: ['accepted'],
  TaskQueued: ['accepted'],
  AskCreated: ['accepted'],
  AskExpiring: ['awaiting_approval'],
  AskApproved: ['awaiting_approval'],
  AskDenied: ['awaiting_approval'],
  AskExpired: ['awaiting_approval'],
  TaskStarted: ['queued'],
  TaskSucceeded: ['running'],
  TaskFailed: ['running', 'queued'],
  TaskRetryScheduled: ['running'],
  TaskDeadLettered: ['running', 'queued'],
  DeadLetterTriaged: ['dead_lettered:pending'],
  AlarmRaised: ['dead_lettered:held'],
  HeldTaskRequeued: ['dead_lettered:held'],
  HeldTaskDiscarded: ['dead_lettered:held'],
};

// Told by the table above rather than by the event schemas: the dashboard bundles this file, and
// the schemas would bring zod along.
const isCommandLife = (event: RecordedEvent): event is RecordedEvent<CommandLifeEvent> =>
  Object.hasOwn(statusBefore, event.type);

/** The counts with one command moved out of `from` and into `to` (either may be none). */
function moved(counts: Counts, from: keyof Counts | undefined, to: keyof Counts | undefined): Counts {
  if (from === to) return counts;
  const next = {
    queued: counts.queued,
    running: counts.running,
    awaiting_approval: counts.awaiting_approval,
    dead_lettered: counts.dead_lettered,
  };
  if (from !== undefined) next[from] -= 1;
  if (to !== undefined) next[to] += 1;
  return next;
}

/** The counts after one more event: the command's status folded by the command-life `evolve`. */
export function countCommands(commands: CommandCounts, event: RecordedEvent): CommandCounts {
  if (!isCommandLife(event)) return commands;
  const taskId = event.data.task_id;
  const held = trieGet(commands.statuses, taskId);
  const before = held ?? unlistedStatus(commands.unlisted, event.type);
  const after = statusOf(evolve(lifeOf[before], event));
  if (after === before) return commands;
  // it leaves the count it was in (held, or unlisted if counted there at all) and enters its new one
  const left = countOf[before].count;
  const { count: entered, unlisted: entersUnlisted } = countOf[after];
  const listedAs = entered !== undefined && !entersUnlisted ? after : undefined;
  const { statuses } = commands;
  return {
    statuses:
      listedAs !== undefined
        ? trieSet(statuses, taskId, listedAs)
        : held !== undefined
          ? trieDelete(statuses, taskId)
          : statuses,
    listed: moved(commands.listed, held === undefined ? undefined : left, listedAs === undefined ? undefined : entered),
    unlisted: moved(
      commands.unlisted,
      held === undefined && isCounted(commands.unlisted, before) ? left : undefined,
      entersUnlisted ? entered : undefined,
    ),
  };
}

const isCounted = (unlisted: Counts, status: Status): boolean => {
  const { count } = countOf[status];
  return count !== undefined && unlisted[count] > 0;
};

/** What an event tells of the status of a command that is not held: the likeliest one still counted. */
function unlistedStatus(unlisted: Counts, type: CommandLifeEvent['type']): Status {
  const candidates = statusBefore[type];
  return candidates.find((status) => isCounted(unlisted, status)) ?? candidates[0]!;
}

/** The counts the autopilot shows. */
export const countsOf = ({ listed, unlisted }: CommandCounts): Counts => ({
  queued: listed.queued + unlisted.queued,
  running: listed.running + unlisted.running,
  awaiting_approval: listed.awaiting_approval + unlisted.awaiting_approval,
  dead_lettered: listed.dead_lettered + unlisted.dead_lettered,
});

/**
 * What a client that received a snapshot knows: its counts, and which tasks are in flight.
 * Those it holds as running (so a failure is told apart from a payload refused straight from
 * queued); the rest it counts, and learns each one's status from its next event. That is exact
 * when the snapshot falls between two appends or inside one (a stream resumed where it broke
 * off): a task failed in that append is running though no longer in flight.
 */
export function fromCounts(counts: Counts, inFlight: Iterable<string>): CommandCounts {
  let statuses = noCommands.statuses;
  let running = 0;
  for (const taskId of inFlight) {
    if (trieGet(statuses, taskId) !== undefined) continue;
    statuses = trieSet(statuses, taskId, 'running');
    running += 1;
  }
  return { statuses, listed: { ...zero, running }, unlisted: { ...counts, running: counts.running - running } };
}
