import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/events/envelope.js';
import { fromReport, toReport } from '../../src/projections/report-feed.js';
import { snapshotProjection, stateOf, type SnapshotState } from '../../src/projections/snapshot.js';
import { events, recorded, tenant } from '../support/fixtures.js';

const projection = snapshotProjection({ worklogKeep: 50 });
const fold = (state: SnapshotState, log: readonly RecordedEvent[]) => log.reduce(projection.evolve, state);
const view = (state: SnapshotState) => projection.view(state, { tenant, position: state.position, timestamp: 't' });

const ask = (type: 'AskCreated' | 'AskApproved' | 'AskDenied', ask_id: string) =>
  type === 'AskCreated'
    ? {
        type,
        data: {
          command_id: 'cmd-1',
          task_id: 'task-1',
          command_type: 'echo.test',
          ask_id,
          risk_level: 'RED',
          description: 'Share it',
          params: { recipient: 'a@example.com' },
          payload_hash: 'p',
          requested_by: 'alice',
          expires_at: '2026-11-24T10:00:00.000Z',
          warn_at: '2026-11-24T09:55:00.000Z',
          options: ['approve', 'deny'],
        },
      }
    : {
        type,
        data: {
          command_id: 'cmd-1',
          task_id: 'task-1',
          command_type: 'echo.test',
          ask_id,
          payload_hash: 'p',
          decided_by: 'bob',
        },
      };

/** Events of another command, `cmd-<n>`, for the cases where the counts once drifted. */
const of = (n: number, type: string, data: object = {}) => ({
  type,
  data: { command_id: `cmd-${n}`, task_id: `task-${n}`, command_type: 'echo.test', ...data },
});
const mismatch = { code: 'PAYLOAD_HASH_MISMATCH', message: 'not the approved payload' };
const boom = { code: 'BOOM', message: 'boom' };

// Every kind of change the snapshot shows: work, asks decided both ways, memory, autopilot, dead
// letters; a payload mismatch straight from queued, a held task discarded, a kept one requeued.
const log = recorded([
  events.accepted('RED'),
  ask('AskCreated', 'ask-1'),
  ask('AskApproved', 'ask-1'),
  events.queued(),
  { type: 'MemorySet', data: { key: 'topic', value: { a: 1 } } },
  events.started(),
  events.failed(1, false),
  events.deadLettered(1),
  {
    type: 'DeadLetterTriaged',
    data: { command_id: 'cmd-1', task_id: 'task-1', command_type: 'echo.test', code: 'BOOM', action: 'hold' },
  },
  { type: 'AutopilotPaused', data: { by: 'bob' } },
  ask('AskCreated', 'ask-2'),
  { type: 'MemoryDeleted', data: { key: 'topic' } },
  ask('AskDenied', 'ask-2'),
  { type: 'AutopilotResumed', data: { by: 'bob', reason: 'done' } },
  of(1, 'HeldTaskRequeued', { by: 'bob' }),
  events.queued(2),
  of(2, 'CommandAccepted', { params: {}, risk_level: 'GREEN', description: 'd', requested_by: 'alice' }),
  of(2, 'TaskQueued', { attempt: 1 }),
  of(3, 'CommandAccepted', { params: {}, risk_level: 'GREEN', description: 'd', requested_by: 'alice' }),
  of(3, 'TaskQueued', { attempt: 1 }),
  events.started(2),
  of(2, 'TaskFailed', { attempt: 1, error: mismatch, retryable: false }),
  of(2, 'TaskDeadLettered', { attempts: 1, error: mismatch }),
  of(3, 'TaskStarted', { attempt: 1, executor_id: 'worker-b' }),
  of(2, 'DeadLetterTriaged', { action: 'hold', code: 'PAYLOAD_HASH_MISMATCH', requeues: 0 }),
  of(3, 'TaskFailed', { attempt: 1, error: boom, retryable: false, duration_ms: 1 }),
  of(3, 'TaskDeadLettered', { attempts: 1, error: boom }),
  of(3, 'DeadLetterTriaged', { action: 'keep', code: 'BOOM', requeues: 0 }),
  events.succeeded(2),
  of(2, 'HeldTaskDiscarded', { by: 'admin' }),
  of(3, 'HeldTaskRequeued', { by: 'admin' }),
  of(3, 'TaskQueued', { attempt: 2 }),
] as never);

describe('a snapshot folded forward from reports (what the dashboard does)', () => {
  it('equals the snapshot the server folds from events, from any starting position', () => {
    const serverEnd = view(fold(projection.initialState(), log));
    expect(serverEnd.autopilot).toEqual({
      status: 'running',
      queued: 1,
      running: 0,
      awaiting_approval: 0,
      dead_lettered: 0,
    });
    for (let start = 0; start <= log.length; start += 1) {
      const received = view(fold(projection.initialState(), log.slice(0, start)));
      const reports = log.slice(start).map((event) => fromReport(toReport(event), tenant));
      expect(view(fold(stateOf(received, 50), reports)), `from position ${start}`).toEqual(serverEnd);
    }
  });

  it('keeps what the server told of a worker process (capabilities, heartbeat) while folding its work', () => {
    const worker = {
      worker_id: 'worker-a',
      capabilities: ['echo.test'],
      host: 'h1',
      status: 'active' as const,
      joined_at: '2026-11-23T09:00:00.000Z',
    };
    const live = {
      executors: new Map([['worker-a', worker]]),
      heartbeats: new Map([['worker-a', '2026-11-23T10:00:00.000Z']]),
    };
    const at = (state: SnapshotState) => ({ tenant, position: state.position, timestamp: 't' });
    const server = fold(projection.initialState(), log);
    const start = fold(projection.initialState(), log.slice(0, 5));
    const received = projection.view(start, at(start), live);
    const reports = log.slice(5).map((event) => fromReport(toReport(event), tenant));
    const client = fold(stateOf(received, 50), reports);
    expect(view(client).sidecar).toEqual(projection.view(server, at(server), live).sidecar);
    expect(view(client).sidecar['worker-a']).toMatchObject({
      kind: 'worker',
      capabilities: ['echo.test'],
      last_heartbeat_at: '2026-11-23T10:00:00.000Z',
    });
  });

  it('recovers the event types that share a report type', () => {
    const types = log.map((event) => fromReport(toReport(event), tenant).type);
    expect(types).toEqual(log.map((event) => event.type));
  });
});
