import { describe, expect, it } from 'vitest';
import { fromReport, toReport } from '../../src/projections/report-feed.js';
import { snapshotProjection, stateOf } from '../../src/projections/snapshot.js';
import { worklogEntries } from '../../src/projections/worklog.js';
import {
  emptyTrie,
  trieDelete,
  trieEntries,
  trieGet,
  trieSet,
  type HashTrie,
} from '../../src/projections/hash-trie.js';
import { taskChange, type PendingTask } from '../../src/projections/pending-tasks.js';
import {
  evolve as evolveLife,
  initialState as noLife,
  type CommandLifeState,
} from '../../src/commands/command-life.js';
import type { CommandLifeEvent, TriageAction } from '../../src/events/command-events.js';
import type { RecordedEvent } from '../../src/events/envelope.js';
import { projectionSpec } from '../support/projection-spec.js';
import { events, recorded, tenant } from '../support/fixtures.js';

const projection = snapshotProjection({ worklogKeep: 3 });
const spec = projectionSpec(projection);

const ran = recorded([events.accepted(), events.queued(), events.started(), events.succeeded()]);
const asked = recorded([
  events.accepted('RED'),
  {
    type: 'AskCreated',
    data: {
      command_id: 'cmd-1',
      task_id: 'task-1',
      command_type: 'echo.test',
      ask_id: 'ask-1',
      risk_level: 'RED',
      description: 'Share it',
      params: { recipient: 'a@example.com' },
      payload_hash: 'p',
      requested_by: 'alice',
      expires_at: '2026-11-24T10:00:00.000Z',
      options: ['approve', 'deny'],
    },
  },
]);

/** The events of one command's life, `cmd-<n>` / `task-<n>`, as its deciders record them. */
function life(n: number) {
  const ids = { command_id: `cmd-${n}`, task_id: `task-${n}`, command_type: 'echo.test' };
  const boom = { code: 'BOOM', message: 'boom' };
  const mismatch = {
    code: 'PAYLOAD_HASH_MISMATCH',
    message: 'the payload to run is not the payload that was approved',
  };
  const ask = (k: number) => ({ ...ids, ask_id: `ask-${n}-${k}` });
  const e = (event: { type: string; data: object }) => event as CommandLifeEvent;
  return {
    accepted: (risk_level = 'GREEN') =>
      e({ type: 'CommandAccepted', data: { ...ids, params: {}, risk_level, description: 'd', requested_by: 'alice' } }),
    queued: (attempt = 1) => e({ type: 'TaskQueued', data: { ...ids, attempt } }),
    started: (attempt = 1) => e({ type: 'TaskStarted', data: { ...ids, attempt, executor_id: `worker-${n % 3}` } }),
    succeeded: (attempt = 1) => e({ type: 'TaskSucceeded', data: { ...ids, attempt, result: null, duration_ms: 1 } }),
    failed: (attempt = 1, retryable = false) =>
      e({ type: 'TaskFailed', data: { ...ids, attempt, error: boom, retryable, duration_ms: 1 } }),
    retrying: (attempt: number) =>
      e({
        type: 'TaskRetryScheduled',
        data: { ...ids, attempt, retry_at: '2026-11-23T10:00:05.000Z', delay_ms: 5000 },
      }),
    deadLettered: (attempts = 1) => e({ type: 'TaskDeadLettered', data: { ...ids, attempts, error: boom } }),
    /** What `StartTask` records when the payload to run is not the approved one: no start, straight to the dead letters. */
    payloadMismatch: (attempt = 1) => [
      e({ type: 'TaskFailed', data: { ...ids, attempt, error: mismatch, retryable: false } }),
      e({ type: 'TaskDeadLettered', data: { ...ids, attempts: attempt, error: mismatch } }),
    ],
    asked: (k = 1) =>
      e({
        type: 'AskCreated',
        data: {
          ...ask(k),
          risk_level: 'RED',
          description: 'd',
          params: {},
          payload_hash: 'p',
          requested_by: 'alice',
          expires_at: '2026-11-24T10:00:00.000Z',
          options: ['approve', 'deny'],
        },
      }),
    expiring: (k = 1) => e({ type: 'AskExpiring', data: { ...ask(k), expires_at: '2026-11-24T10:00:00.000Z' } }),
    approved: (k = 1) => e({ type: 'AskApproved', data: { ...ask(k), decided_by: 'bob', payload_hash: 'p' } }),
    denied: (k = 1) => e({ type: 'AskDenied', data: { ...ask(k), decided_by: 'bob' } }),
    expired: (k = 1) => e({ type: 'AskExpired', data: { ...ask(k), expires_at: '2026-11-24T10:00:00.000Z' } }),
    triaged: (action: TriageAction, requeues = 0) =>
      e({ type: 'DeadLetterTriaged', data: { ...ids, action, code: 'BOOM', requeues } }),
    alarm: () => e({ type: 'AlarmRaised', data: { ...ids, code: 'BOOM', message: 'boom' } }),
    requeuedByAdmin: () => e({ type: 'HeldTaskRequeued', data: { ...ids, by: 'admin' } }),
    discardedByAdmin: () => e({ type: 'HeldTaskDiscarded', data: { ...ids, by: 'admin' } }),
  };
}

const autopilot = (state: ReturnType<typeof projection.initialState>) =>
  projection.view(state, { tenant, position: state.position, timestamp: 't' }).autopilot;
const idle = { status: 'idle', queued: 0, running: 0, awaiting_approval: 0, dead_lettered: 0 };

/**
 * The counts as the specification has them: each command's own events folded with the
 * command-life `evolve`, and its status counted (a dead letter until it is requeued or discarded).
 */
function countsByCommand(log: readonly RecordedEvent<CommandLifeEvent>[]) {
  const lives = new Map<string, CommandLifeState>();
  for (const event of log)
    lives.set(event.data.command_id, evolveLife(lives.get(event.data.command_id) ?? noLife(), event));
  const counts = { queued: 0, running: 0, awaiting_approval: 0, dead_lettered: 0 };
  for (const state of lives.values()) {
    if (state.status === 'queued' || state.status === 'retry_scheduled') counts.queued += 1;
    if (state.status === 'running') counts.running += 1;
    if (state.status === 'awaiting_approval') counts.awaiting_approval += 1;
    if (state.status === 'dead_lettered' && state.triage !== 'requeued' && state.triage !== 'discarded')
      counts.dead_lettered += 1;
  }
  return counts;
}

/** Lives of every shape, as the deciders record them: each inner list one append. */
const shapes = (l: ReturnType<typeof life>): CommandLifeEvent[][][] => [
  [[l.accepted(), l.queued()], [l.started()], [l.succeeded()]],
  [
    [l.accepted('YELLOW'), l.queued()],
    [l.started()],
    [l.failed(1, true), l.retrying(2)],
    [l.started(2)],
    [l.failed(2), l.deadLettered(2)],
    [l.triaged('hold')],
    [l.requeuedByAdmin(), l.queued(3)],
  ],
  [
    [l.accepted('RED'), l.asked()],
    [l.expiring()],
    [l.approved(), l.queued()],
    l.payloadMismatch(),
    [l.triaged('hold')],
    [l.discardedByAdmin()],
  ],
  [[l.accepted('RED'), l.asked()], [l.denied()]],
  [[l.accepted('RED'), l.asked()], [l.expired()]],
  [[l.accepted(), l.queued()], [l.started()], [l.failed(), l.deadLettered()], [l.triaged('keep')]],
  [
    [l.accepted(), l.queued()],
    [l.started()],
    [l.failed(), l.deadLettered()],
    [l.triaged('keep')],
    [l.discardedByAdmin()],
  ],
  [
    [l.accepted(), l.queued()],
    [l.started()],
    [l.failed(), l.deadLettered()],
    [l.triaged('alarm'), l.alarm()],
    [l.requeuedByAdmin(), l.queued(2)],
    [l.started(2)],
  ],
  [
    [l.accepted('RED'), l.asked()],
    [l.approved(), l.queued()],
    [l.started()],
    [l.failed(), l.deadLettered()],
    [l.triaged('requeue', 1), l.asked(2)],
    [l.approved(2), l.queued(2)],
  ],
  [[l.accepted(), l.queued()]],
];
const lives = Array.from({ length: 60 }, (_, n) => shapes(life(n))[n % 10]!);

/** Concurrent lives: life n starts n % 7 steps late, and each step writes the next item of every life. */
function interleaved<T>(items: readonly (readonly T[])[]): T[] {
  const all: T[] = [];
  for (let step = 0; all.length < items.flat().length; step += 1) {
    items.forEach((of, n) => {
      const item = of[step - (n % 7)];
      if (item !== undefined) all.push(item);
    });
  }
  return all;
}

describe('snapshot projection', () => {
  it('counts work and returns to idle when it is done', () => {
    spec
      .given(ran.slice(0, 2))
      .then((state) => expect(autopilot(state)).toEqual({ ...idle, status: 'running', queued: 1 }));
    spec
      .given(ran.slice(0, 3))
      .then((state) => expect(autopilot(state)).toEqual({ ...idle, status: 'running', running: 1 }));
    spec.given(ran).then((state) => expect(autopilot(state)).toEqual(idle));
  });

  it('writes a worklog line per step and keeps only the latest STREAM_WORKLOG_KEEP', () => {
    spec.given(ran).then((view) => {
      expect(worklogEntries(view.worklog, 3).map((entry) => entry.text)).toEqual([
        'echo.test accepted (GREEN)',
        'echo.test started (attempt 1)',
        'echo.test completed in 2 ms',
      ]);
      expect(worklogEntries(view.worklog, 3).every((entry) => entry.correlation_id === 'corr-1')).toBe(true);
    });
    const many = recorded([
      events.accepted(),
      events.queued(),
      events.started(),
      events.failed(),
      events.retryScheduled(2, 'x', 0),
      events.started(2),
      events.succeeded(2),
    ]);
    spec.given(many).then((view) => {
      const shown = projection.view(view, { tenant, position: 7, timestamp: 't' }).worklog;
      expect(shown).toHaveLength(3);
      expect(shown[2]!.text).toBe('echo.test completed in 2 ms');
      expect(view.worklog.length).toBeLessThan(6);
    });
  });

  it('lists pending asks with their exact payload', () => {
    spec.given(asked).then((view) => {
      expect(view.asks).toEqual([
        expect.objectContaining({
          ask_id: 'ask-1',
          risk_level: 'RED',
          payload: { recipient: 'a@example.com' },
          requested_by: 'alice',
          correlation_id: 'corr-1',
        }),
      ]);
      expect(autopilot(view)).toEqual({ ...idle, awaiting_approval: 1 });
    });
  });

  it('tracks executors and their in-flight work', () => {
    spec
      .given(ran.slice(0, 3))
      .then((view) => expect(view.sidecar['worker-a']).toMatchObject({ in_flight: ['task-1'], completed: 0 }));
    spec.given(ran).then((view) => expect(view.sidecar['worker-a']).toMatchObject({ in_flight: [], completed: 1 }));
  });

  it('is unchanged by replaying the same events', () => {
    spec.given(ran).thenReplayingChangesNothing();
    spec.given(asked).thenReplayingChangesNothing();
  });

  it('reports the position it is consistent with', () => {
    spec.given(ran).then((view) => {
      expect(view.position).toBe(4);
      expect(projection.view(view, { tenant, position: 10, timestamp: 't' })).toMatchObject({
        position: 10,
        org_id: 'acme',
        project_id: 'web',
      });
    });
  });
});

describe("snapshot counts, derived from each command's folded status", () => {
  const red = life(1);
  const approvedAndQueued = [red.accepted('RED'), red.asked(), red.approved(), red.queued()];

  it('a payload mismatch fails a task straight from queued: it leaves queued, and was never running', () => {
    spec.given(recorded([...approvedAndQueued, ...red.payloadMismatch()])).then((state) => {
      expect(autopilot(state)).toEqual({ ...idle, dead_lettered: 1 });
      expect(state.dead_letters).toHaveLength(1);
    });
    // the same on a retry: retry-scheduled counts as queued
    const retried = [...approvedAndQueued, red.started(), red.failed(1, true), red.retrying(2)];
    spec
      .given(recorded(retried))
      .then((state) => expect(autopilot(state)).toEqual({ ...idle, status: 'running', queued: 1 }));
    spec
      .given(recorded([...retried, ...red.payloadMismatch(2)]))
      .then((state) => expect(autopilot(state)).toEqual({ ...idle, dead_lettered: 1 }));
  });

  it('a held or kept dead letter discarded is no longer a dead letter', () => {
    const task = life(2);
    const failed = [task.accepted(), task.queued(), task.started(), task.failed(), task.deadLettered()];
    for (const held of [[task.triaged('hold')], [task.triaged('alarm'), task.alarm()], [task.triaged('keep')]]) {
      spec
        .given(recorded([...failed, ...held]))
        .then((state) => expect(autopilot(state)).toEqual({ ...idle, dead_lettered: 1 }));
      spec.given(recorded([...failed, ...held, task.discardedByAdmin()])).then((state) => {
        expect(autopilot(state)).toEqual(idle);
        expect(state.dead_letters).toEqual([]);
      });
    }
  });

  it('a dead letter requeued (by triage or an admin) is queued or asked about again', () => {
    const task = life(3);
    const failed = [
      task.accepted('RED'),
      task.asked(),
      task.approved(),
      task.queued(),
      task.started(),
      task.failed(),
      task.deadLettered(),
    ];
    spec
      .given(recorded([...failed, task.triaged('requeue', 1), task.queued(2)]))
      .then((state) => expect(autopilot(state)).toEqual({ ...idle, status: 'running', queued: 1 }));
    spec
      .given(recorded([...failed, task.triaged('keep'), task.requeuedByAdmin(), task.queued(2), task.started(2)]))
      .then((state) => expect(autopilot(state)).toEqual({ ...idle, status: 'running', running: 1 }));
    // asked again (the approval lapsed), then the new ask ends one way or the other
    const askedAgain = [...failed, task.triaged('hold'), task.requeuedByAdmin(), task.asked(2), task.expiring(2)];
    spec
      .given(recorded(askedAgain))
      .then((state) => expect(autopilot(state)).toEqual({ ...idle, awaiting_approval: 1 }));
    spec.given(recorded([...askedAgain, task.expired(2)])).then((state) => expect(autopilot(state)).toEqual(idle));
    spec.given(recorded([...askedAgain, task.denied(2)])).then((state) => expect(autopilot(state)).toEqual(idle));
    spec
      .given(recorded([...askedAgain, task.approved(2), task.queued(2), task.started(2), task.succeeded(2)]))
      .then((state) => expect(autopilot(state)).toEqual(idle));
  });

  it('equals the counts of every command folded on its own, at every position of an interleaved log', () => {
    // events interleaved one by one, so that every position inside a batch is seen too
    const log = recorded(interleaved(lives.map((batches) => batches.flat()))) as RecordedEvent<CommandLifeEvent>[];
    let state = projection.initialState();
    for (const [i, event] of log.entries()) {
      state = projection.evolve(state, event);
      const { status: _status, ...counts } = autopilot(state);
      expect(counts, `after ${event.type} of ${event.data.command_id} at ${event.position}`).toEqual(
        countsByCommand(log.slice(0, i + 1)),
      );
    }
    // six lives of each shape: three shapes end queued, one running, one kept as a dead letter
    expect(autopilot(state)).toEqual({
      status: 'running',
      queued: 18,
      running: 6,
      awaiting_approval: 0,
      dead_lettered: 6,
    });
    spec.given(log).thenReplayingChangesNothing();
  });

  it('are the same for a client that folds the reports after a snapshot, from any position', () => {
    const log = recorded(interleaved(lives).flat());
    const server = [projection.initialState()];
    for (const event of log) server.push(projection.evolve(server.at(-1)!, event));
    const end = autopilot(server.at(-1)!);
    for (const [start, received] of server.entries()) {
      const client = log
        .slice(start)
        .map((event) => fromReport(toReport(event), tenant))
        .reduce(projection.evolve, stateOf(projection.view(received, { tenant, position: start, timestamp: 't' }), 3));
      expect(autopilot(client), `from position ${start}`).toEqual(end);
    }
  });
});

describe('the commands a snapshot holds', () => {
  it('are the counted ones, with their status only: finished ones are forgotten, kept dead letters only counted', () => {
    const lives = Array.from({ length: 3000 }, (_, n) => {
      const l = life(n);
      const ran = [l.accepted(), l.queued(), l.started()];
      if (n % 100 === 0) return ran; // still running
      if (n % 10 === 0) return [...ran, l.failed(), l.deadLettered(), l.triaged('keep')];
      if (n % 10 === 1) return [...ran, l.failed(), l.deadLettered(), l.triaged('hold')];
      return [...ran, l.succeeded()];
    });
    const state = recorded(lives.flat()).reduce(projection.evolve, projection.initialState());
    const held = [...trieEntries(state.commands.statuses)];
    expect(held).toHaveLength(30 + 300);
    expect(new Set(held.map(([, status]) => status))).toEqual(new Set(['running', 'dead_lettered:held']));
    expect(state.commands.unlisted).toEqual({ queued: 0, running: 0, awaiting_approval: 0, dead_lettered: 270 });
    // the counts of the held ones are theirs, walked one by one
    const walked = {
      queued: 0,
      running: held.filter(([, s]) => s === 'running').length,
      awaiting_approval: 0,
      dead_lettered: held.filter(([, s]) => s === 'dead_lettered:held').length,
    };
    expect(state.commands.listed).toEqual(walked);
    expect(autopilot(state)).toEqual({
      status: 'running',
      queued: 0,
      running: 30,
      awaiting_approval: 0,
      dead_lettered: 570,
    });
  });

  it('are kept in a persistent map: a change leaves every earlier state as it was', () => {
    const reference = new Map<string, number>();
    const versions: Array<[HashTrie<number>, Map<string, number>]> = [];
    let trie = emptyTrie<number>();
    for (let i = 0; i < 20_000; i++) {
      const key = `task-${(i * 7919) % 3001}`;
      if (i % 3 === 2) {
        trie = trieDelete(trie, key);
        reference.delete(key);
      } else {
        trie = trieSet(trie, key, i);
        reference.set(key, i);
      }
      if (i % 2000 === 0) versions.push([trie, new Map(reference)]);
    }
    for (const [version, expected] of [...versions, [trie, reference] as const]) {
      expect(new Map(trieEntries(version))).toEqual(expected);
      for (const key of ['task-0', 'task-1', 'task-2999', 'task-3000', 'nope'])
        expect(trieGet(version, key)).toBe(expected.get(key));
    }
    const [present, value] = reference.entries().next().value!;
    expect(trieSet(trie, present, value)).toBe(trie);
    expect(trieDelete(trie, 'nope')).toBe(trie);
    // emptied, it is a small bucket again
    for (const key of reference.keys()) trie = trieDelete(trie, key);
    expect(trie).toEqual(emptyTrie());
  });
});

describe('report feed', () => {
  it('turns every event into one report carrying its position and correlation id', () => {
    const reports = ran.map(toReport);
    expect(reports.map((r) => r.report_type)).toEqual([
      'command_accepted',
      'task_queued',
      'task_started',
      'task_completed',
    ]);
    expect(reports.map((r) => r.position)).toEqual([1, 2, 3, 4]);
    expect(reports[3]).toEqual({
      report_id: 'event-4',
      report_type: 'task_completed',
      position: 4,
      correlation_id: 'corr-1',
      command_id: 'cmd-1',
      task_id: 'task-1',
      payload: { command_type: 'echo.test', attempt: 1, result: { echo: 1 }, duration_ms: 2 },
      timestamp: ran[3]!.metadata.occurred_at,
    });
  });

  it('names reports as the seed does', () => {
    const all = recorded([
      events.accepted(),
      events.queued(),
      events.started(),
      events.failed(),
      events.retryScheduled(2, 'x', 0),
      events.deadLettered(2),
    ]);
    expect(all.map((e) => toReport(e).report_type)).toEqual([
      'command_accepted',
      'task_queued',
      'task_started',
      'task_failed',
      'task_retrying',
      'task_dead_lettered',
    ]);
    expect(toReport(asked[1]!)).toMatchObject({
      report_type: 'ask_created',
      payload: { ask_id: 'ask-1', risk_level: 'RED', payload: { recipient: 'a@example.com' } },
    });
  });
});

describe('pending tasks', () => {
  const fold = (events: RecordedEvent[]) => {
    let task: PendingTask | undefined;
    const changes = events.map((event) => {
      const change = taskChange(task, event);
      if (change && 'task' in change) task = change.task;
      return change?.kind;
    });
    return { changes, task };
  };

  it('folds each stream with the decider: queued and retrying are ready, started running, finished done', () => {
    expect(fold(ran).changes).toEqual(['waiting', 'ready', 'running', 'finished']);
    const retried = recorded([
      events.accepted(),
      events.queued(),
      events.started(),
      events.failed(),
      events.retryScheduled(2, '2026-11-23T10:00:05.000Z', 5000),
    ]);
    const { task } = fold(retried);
    const last = taskChange(fold(retried.slice(0, 4)).task, retried[4]!);
    expect(last).toMatchObject({ kind: 'ready', due_at: Date.parse('2026-11-23T10:00:05.000Z') });
    expect(task).toMatchObject({
      revision: 4,
      correlation_id: 'corr-1',
      state: { status: 'retry_scheduled', attempt: 2 },
    });
    // an ask is due at its expiry
    expect(fold(asked).changes).toEqual(['waiting', 'ready']);
    expect(taskChange(fold(asked.slice(0, 1)).task, asked[1]!)).toMatchObject({
      due_at: Date.parse('2026-11-24T10:00:00.000Z'),
    });
  });

  it('ignores events it has already seen', () => {
    const { task } = fold(ran.slice(0, 3));
    expect(taskChange(task, ran[1]!)).toBeUndefined();
    expect(taskChange(task, ran[2]!)).toBeUndefined();
  });
});
