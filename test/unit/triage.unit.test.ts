import { describe, expect, it } from 'vitest';
import { commandLifeDecider, type CommandLifeCommand } from '../../src/commands/command-life.js';
import type { TriagePolicy } from '../../src/commands/decide-triage.js';
import { CommandNotFoundError, TaskNotHeldError } from '../../src/commands/errors.js';
import type { CommandLifeEvent } from '../../src/events/command-events.js';
import type { RecordedEvent } from '../../src/events/envelope.js';
import { evolveDeadLetters, isHeld, type DeadLetter } from '../../src/projections/held-tasks.js';
import { deciderSpec } from '../support/decider-spec.js';
import { events, metadata, recorded } from '../support/fixtures.js';

const fold = (events: readonly RecordedEvent[]) => events.reduce<readonly DeadLetter[]>(evolveDeadLetters, []);

const spec = deciderSpec(commandLifeDecider);
const ids = { command_id: 'cmd-1', task_id: 'task-1', command_type: 'echo.test' };
const policy: TriagePolicy = {
  requeue: ['PROVIDER_TIMEOUT'],
  hold: ['SCHEMA_PARSE_ERROR'],
  alarm: ['PROVIDER_AUTH_ERROR'],
  max_requeues: 2,
  ask_terms: { ttl_seconds: 3600, warning_seconds: 300 },
};

const deadWith = (code: string, attempts = 4): CommandLifeEvent => ({
  type: 'TaskDeadLettered',
  data: { ...ids, attempts, error: { code, message: code } },
});
const triage: CommandLifeCommand = {
  type: 'TriageDeadLetter',
  data: { task_id: 'task-1', policy },
  metadata: metadata(),
};
const requeue: CommandLifeCommand = {
  type: 'RequeueHeldTask',
  data: {
    task_id: 'task-1',
    reason: 'fixed the key',
    four_eyes: { rule: 'named', shared: false },
    ask_terms: { ttl_seconds: 3600, warning_seconds: 300 },
  },
  metadata: metadata(),
};
const discard: CommandLifeCommand = { type: 'DiscardHeldTask', data: { task_id: 'task-1' }, metadata: metadata() };
const triaged = (action: 'requeue' | 'hold' | 'alarm' | 'keep', code: string, requeues: number): CommandLifeEvent => ({
  type: 'DeadLetterTriaged',
  data: { ...ids, action, code, requeues },
});
const life = [events.accepted(), events.queued()];

describe('dead-letter triage by failure code', () => {
  it('requeues a code of AUTO_REQUEUE_FAILURE_CODES for one more attempt', () => {
    spec
      .given([...life, deadWith('PROVIDER_TIMEOUT')])
      .when(triage)
      .then([triaged('requeue', 'PROVIDER_TIMEOUT', 1), { type: 'TaskQueued', data: { ...ids, attempt: 5 } }]);
  });

  it('requeues at most max_requeues times, then holds', () => {
    const again = [
      ...life,
      deadWith('PROVIDER_TIMEOUT'),
      triaged('requeue', 'PROVIDER_TIMEOUT', 1),
      events.queued(5),
      deadWith('PROVIDER_TIMEOUT', 5),
    ];
    spec
      .given(again)
      .when(triage)
      .then([triaged('requeue', 'PROVIDER_TIMEOUT', 2), { type: 'TaskQueued', data: { ...ids, attempt: 6 } }]);
    const spent = [
      ...again,
      triaged('requeue', 'PROVIDER_TIMEOUT', 2),
      events.queued(6),
      deadWith('PROVIDER_TIMEOUT', 6),
    ];
    spec
      .given(spent)
      .when(triage)
      .then([triaged('hold', 'PROVIDER_TIMEOUT', 2)]);
  });

  it('holds a code of AUTO_HOLD_FAILURE_CODES', () => {
    spec
      .given([...life, deadWith('SCHEMA_PARSE_ERROR')])
      .when(triage)
      .then([triaged('hold', 'SCHEMA_PARSE_ERROR', 0)]);
  });

  it('raises an alarm (and holds) for a code of AUTO_ALARM_FAILURE_CODES', () => {
    spec
      .given([...life, deadWith('PROVIDER_AUTH_ERROR')])
      .when(triage)
      .then([
        triaged('alarm', 'PROVIDER_AUTH_ERROR', 0),
        { type: 'AlarmRaised', data: { ...ids, code: 'PROVIDER_AUTH_ERROR', message: 'PROVIDER_AUTH_ERROR' } },
      ]);
  });

  it('keeps a code no rule names; triages once only', () => {
    spec
      .given([...life, deadWith('BOOM')])
      .when(triage)
      .then([triaged('keep', 'BOOM', 0)]);
    spec
      .given([...life, deadWith('BOOM'), triaged('keep', 'BOOM', 0)])
      .when(triage)
      .thenNothingHappened();
    spec
      .given([...life])
      .when(triage)
      .thenNothingHappened();
    spec.given([]).when(triage).thenThrows(CommandNotFoundError);
  });

  it('an admin requeues or discards a held task, and nothing else', () => {
    const held = [...life, deadWith('SCHEMA_PARSE_ERROR'), triaged('hold', 'SCHEMA_PARSE_ERROR', 0)];
    spec
      .given(held)
      .when(requeue)
      .then([
        { type: 'HeldTaskRequeued', data: { ...ids, by: 'alice', reason: 'fixed the key' } },
        { type: 'TaskQueued', data: { ...ids, attempt: 5 } },
      ]);
    spec
      .given(held)
      .when(discard)
      .then([{ type: 'HeldTaskDiscarded', data: { ...ids, by: 'alice' } }]);
    spec
      .given([...held, { type: 'HeldTaskDiscarded', data: { ...ids, by: 'alice' } }])
      .when(requeue)
      .thenThrows(TaskNotHeldError);
    spec
      .given([...life, deadWith('BOOM'), triaged('keep', 'BOOM', 0)])
      .when(discard)
      .then([{ type: 'HeldTaskDiscarded', data: { ...ids, by: 'alice' } }]);
    spec
      .given([...life, deadWith('BOOM')])
      .when(discard)
      .thenThrows(TaskNotHeldError);
    spec
      .given([...life])
      .when(requeue)
      .thenThrows(TaskNotHeldError);
  });

  it('the dead-letter view lists held tasks until requeued or discarded', () => {
    const held = [...life, deadWith('SCHEMA_PARSE_ERROR'), triaged('hold', 'SCHEMA_PARSE_ERROR', 0)];
    const letters = fold(recorded(held));
    expect(letters.map((l) => [l.command_id, l.triage, isHeld(l)])).toEqual([['cmd-1', 'hold', true]]);
    expect(
      fold(recorded([...held, { type: 'HeldTaskRequeued', data: { ...ids, by: 'a' } }, events.queued(5)])),
    ).toEqual([]);
    expect(fold(recorded([...held, { type: 'HeldTaskDiscarded', data: { ...ids, by: 'a' } }]))).toEqual([]);
  });
});
