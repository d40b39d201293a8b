import { describe, expect, it } from 'vitest';
import { toReport } from '../../src/projections/report-feed.js';
import { snapshotProjection } from '../../src/projections/snapshot.js';
import { worklogEntries } from '../../src/projections/worklog.js';
import { taskChange, type PendingTask } from '../../src/projections/pending-tasks.js';
import type { RecordedEvent } from '../../src/events/envelope.js';
import { projectionSpec } from '../support/projection-spec.js';
import { events, recorded, tenant } from '../support/fixtures.js';

const projection = snapshotProjection({ worklogKeep: 3 });
const spec = projectionSpec(projection);

const ran = recorded([events.accepted(), events.queued(), events.started(), events.succeeded()]);
const asked = recorded([events.accepted('RED'), {
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
}]);

describe('snapshot projection', () => {
  it('counts work and returns to idle when it is done', () => {
    spec.given(ran.slice(0, 2)).then((view) => expect(view.counts).toMatchObject({ queued: 1, running: 0 }));
    spec.given(ran.slice(0, 3)).then((view) => expect(view.counts).toMatchObject({ queued: 0, running: 1 }));
    spec.given(ran).then((view) => {
      expect(view.counts).toEqual({ queued: 0, running: 0, awaiting_approval: 0, dead_lettered: 0 });
      expect(projection.view(view, { tenant, position: 4, timestamp: 't' }).autopilot.status).toBe('idle');
    });
    spec.given(ran.slice(0, 3)).then((view) =>
      expect(projection.view(view, { tenant, position: 3, timestamp: 't' }).autopilot.status).toBe('running'),
    );
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
    const many = recorded([events.accepted(), events.queued(), events.started(), events.failed(), events.retryScheduled(2, 'x', 0), events.started(2), events.succeeded(2)]);
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
        expect.objectContaining({ ask_id: 'ask-1', risk_level: 'RED', payload: { recipient: 'a@example.com' }, requested_by: 'alice', correlation_id: 'corr-1' }),
      ]);
      expect(view.counts.awaiting_approval).toBe(1);
    });
  });

  it('tracks executors and their in-flight work', () => {
    spec.given(ran.slice(0, 3)).then((view) => expect(view.sidecar['worker-a']).toMatchObject({ in_flight: ['task-1'], completed: 0 }));
    spec.given(ran).then((view) => expect(view.sidecar['worker-a']).toMatchObject({ in_flight: [], completed: 1 }));
  });

  it('is unchanged by replaying the same events', () => {
    spec.given(ran).thenReplayingChangesNothing();
    spec.given(asked).thenReplayingChangesNothing();
  });

  it('reports the position it is consistent with', () => {
    spec.given(ran).then((view) => {
      expect(view.position).toBe(4);
      expect(projection.view(view, { tenant, position: 10, timestamp: 't' })).toMatchObject({ position: 10, org_id: 'acme', project_id: 'web' });
    });
  });
});

describe('report feed', () => {
  it('turns every event into one report carrying its position and correlation id', () => {
    const reports = ran.map(toReport);
    expect(reports.map((r) => r.report_type)).toEqual(['command_accepted', 'task_queued', 'task_started', 'task_completed']);
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
    const all = recorded([events.accepted(), events.queued(), events.started(), events.failed(), events.retryScheduled(2, 'x', 0), events.deadLettered(2)]);
    expect(all.map((e) => toReport(e).report_type)).toEqual([
      'command_accepted',
      'task_queued',
      'task_started',
      'task_failed',
      'task_retrying',
      'task_dead_lettered',
    ]);
    expect(toReport(asked[1]!)).toMatchObject({ report_type: 'ask_created', payload: { ask_id: 'ask-1', risk_level: 'RED', payload: { recipient: 'a@example.com' } } });
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
    const retried = recorded([events.accepted(), events.queued(), events.started(), events.failed(), events.retryScheduled(2, '2026-11-23T10:00:05.000Z', 5000)]);
    const { task } = fold(retried);
    const last = taskChange(fold(retried.slice(0, 4)).task, retried[4]!);
    expect(last).toMatchObject({ kind: 'ready', due_at: Date.parse('2026-11-23T10:00:05.000Z') });
    expect(task).toMatchObject({ revision: 4, correlation_id: 'corr-1', state: { status: 'retry_scheduled', attempt: 2 } });
    // an ask is due at its expiry
    expect(fold(asked).changes).toEqual(['waiting', 'ready']);
    expect(taskChange(fold(asked.slice(0, 1)).task, asked[1]!)).toMatchObject({ due_at: Date.parse('2026-11-24T10:00:00.000Z') });
  });

  it('ignores events it has already seen', () => {
    const { task } = fold(ran.slice(0, 3));
    expect(taskChange(task, ran[1]!)).toBeUndefined();
    expect(taskChange(task, ran[2]!)).toBeUndefined();
  });
});
