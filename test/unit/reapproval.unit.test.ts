import { describe, expect, it } from 'vitest';
import { commandLifeDecider, type CommandLifeCommand, type DecideAsk } from '../../src/commands/command-life.js';
import type { TriagePolicy } from '../../src/commands/decide-triage.js';
import { SelfApprovalError } from '../../src/commands/errors.js';
import type { FourEyesRule } from '../../src/commands/four-eyes.js';
import type { CommandLifeEvent } from '../../src/events/command-events.js';
import { deciderSpec } from '../support/decider-spec.js';
import { events, now } from '../support/fixtures.js';

// A RED command runs only on an approval that still covers it: requeued after its approval
// lapsed, or by its requester where four eyes bar them, it goes back to a person.

const spec = deciderSpec(commandLifeDecider);
const ids = { command_id: 'cmd-1', task_id: 'task-1', command_type: 'echo.test' };
const terms = { ttl_seconds: 3600, warning_seconds: 300 };
const at = (offsetMs: number) => new Date(now.getTime() + offsetMs);
const HOUR = 3_600_000;

const asked: CommandLifeEvent = {
  type: 'AskCreated',
  data: {
    ...ids,
    ask_id: 'ask-1',
    risk_level: 'RED',
    description: 'Answer the params unchanged',
    params: { hello: 'world' },
    payload_hash: 'hash-of-payload',
    requested_by: 'alice',
    expires_at: at(HOUR).toISOString(),
    warn_at: at(HOUR - 300_000).toISOString(),
    options: ['approve', 'deny'],
  },
};
const approved: CommandLifeEvent = {
  type: 'AskApproved',
  data: {
    ...ids,
    ask_id: 'ask-1',
    decided_by: 'bob',
    four_eyes: 'named',
    payload_hash: 'hash-of-payload',
    valid_until: at(HOUR).toISOString(),
  },
};
const deadLettered = (attempts: number): CommandLifeEvent => ({
  type: 'TaskDeadLettered',
  data: { ...ids, attempts, error: { code: 'BOOM', message: 'boom' } },
});
const kept: CommandLifeEvent = {
  type: 'DeadLetterTriaged',
  data: { ...ids, action: 'keep', code: 'BOOM', requeues: 0 },
};
const red = [
  events.accepted('RED'),
  asked,
  approved,
  events.queued(),
  events.started(),
  events.failed(1, false),
  deadLettered(1),
];

const requeueBy = (
  actor: string,
  offsetMs: number,
  rule: FourEyesRule = 'named',
  shared = false,
): CommandLifeCommand => ({
  type: 'RequeueHeldTask',
  data: { task_id: 'task-1', four_eyes: { rule, shared }, ask_terms: terms },
  metadata: { now: at(offsetMs), correlation_id: 'corr-1', actor },
});
const reasked = (offsetMs: number): CommandLifeEvent => ({
  type: 'AskCreated',
  data: {
    ...ids,
    ask_id: 'ask-1~2',
    risk_level: 'RED',
    description: 'Answer the params unchanged',
    params: { hello: 'world' },
    payload_hash: 'hash-of-payload',
    requested_by: 'alice',
    expires_at: at(offsetMs + HOUR).toISOString(),
    warn_at: at(offsetMs + HOUR - 300_000).toISOString(),
    options: ['approve', 'deny'],
  },
});

describe('a RED command requeued after its approval', () => {
  it('by another admin while the approval holds: one more attempt', () => {
    spec
      .given([...red, kept])
      .when(requeueBy('carol', 60_000))
      .then([
        { type: 'HeldTaskRequeued', data: { ...ids, by: 'carol' } },
        { type: 'TaskQueued', data: { ...ids, attempt: 2 } },
      ]);
  });

  it('once the approval has lapsed (ASK_TTL_SECONDS after it): a new ask for the same payload, not an attempt', () => {
    spec
      .given([...red, kept])
      .when(requeueBy('carol', 2 * HOUR))
      .then([{ type: 'HeldTaskRequeued', data: { ...ids, by: 'carol' } }, reasked(2 * HOUR)]);
  });

  it('by its requester: a new ask where four eyes bar them (named, always), an attempt where they are off', () => {
    spec
      .given([...red, kept])
      .when(requeueBy('alice', 60_000))
      .then([{ type: 'HeldTaskRequeued', data: { ...ids, by: 'alice' } }, reasked(60_000)]);
    spec
      .given([...red, kept])
      .when(requeueBy('alice', 60_000, 'off'))
      .then([
        { type: 'HeldTaskRequeued', data: { ...ids, by: 'alice' } },
        { type: 'TaskQueued', data: { ...ids, attempt: 2 } },
      ]);
  });

  it('by triage once the approval has lapsed: a new ask', () => {
    const policy: TriagePolicy = { requeue: ['BOOM'], hold: [], alarm: [], max_requeues: 3, ask_terms: terms };
    const triage: CommandLifeCommand = {
      type: 'TriageDeadLetter',
      data: { task_id: 'task-1', policy },
      metadata: { now: at(2 * HOUR), correlation_id: 'corr-1', actor: 'nexus' },
    };
    spec
      .given(red)
      .when(triage)
      .then([
        { type: 'DeadLetterTriaged', data: { ...ids, action: 'requeue', code: 'BOOM', requeues: 1 } },
        reasked(2 * HOUR),
      ]);
  });

  it('the new ask, approved by someone else, lets the next attempt run; the old approval no longer does', () => {
    const decide: DecideAsk = {
      type: 'DecideAsk',
      data: {
        ask_id: 'ask-1~2',
        decision: 'approve',
        four_eyes: { rule: 'named', shared: false },
        approval_ttl_seconds: 3600,
      },
      metadata: { now: at(2 * HOUR + 1000), correlation_id: 'corr-1', actor: 'bob' },
    };
    const given = [
      ...red,
      kept,
      { type: 'HeldTaskRequeued', data: { ...ids, by: 'carol' } } as CommandLifeEvent,
      reasked(2 * HOUR),
    ];
    const [approval, queued] = spec.given(given).when(decide).events();
    expect(approval).toMatchObject({
      type: 'AskApproved',
      data: { ask_id: 'ask-1~2', decided_by: 'bob', four_eyes: 'named' },
    });
    expect(queued).toEqual({ type: 'TaskQueued', data: { ...ids, attempt: 2 } });
    // Asked again, the command cannot start on its first approval.
    const start: CommandLifeCommand = {
      type: 'StartTask',
      data: { task_id: 'task-1', attempt: 2, executor_id: 'w', payload_hash: 'hash-of-payload' },
      metadata: { now: at(2 * HOUR + 2000), correlation_id: 'corr-1', actor: 'w' },
    };
    expect(() =>
      spec
        .given([...given, { type: 'TaskQueued', data: { ...ids, attempt: 2 } }])
        .when(start)
        .events(),
    ).toThrow(/needs an approval/);
  });
});

describe('APPROVAL_FOUR_EYES', () => {
  const decideBy = (actor: string, rule: FourEyesRule, shared: boolean): DecideAsk => ({
    type: 'DecideAsk',
    data: { ask_id: 'ask-1', decision: 'approve', four_eyes: { rule, shared }, approval_ttl_seconds: 3600 },
    metadata: { now: at(1000), correlation_id: 'corr-1', actor },
  });
  const requestedWith = (requester: string): CommandLifeEvent[] => [
    {
      ...events.accepted('RED'),
      data: { ...(events.accepted('RED').data as object), requested_by: requester },
    } as CommandLifeEvent,
    { ...asked, data: { ...(asked.data as object), requested_by: requester } } as CommandLifeEvent,
  ];

  it('named (the default): a named principal never decides its own request; the shared key may', () => {
    spec
      .given(requestedWith('alice'))
      .when(decideBy('alice', 'named', false))
      .thenThrows(SelfApprovalError);
    const [approval] = spec
      .given(requestedWith('api-key'))
      .when(decideBy('api-key', 'named', true))
      .events();
    expect(approval).toMatchObject({ type: 'AskApproved', data: { decided_by: 'api-key', four_eyes: 'named' } });
  });

  it('always: nobody decides their own request, the shared key included', () => {
    spec
      .given(requestedWith('api-key'))
      .when(decideBy('api-key', 'always', true))
      .thenThrows(SelfApprovalError);
    spec
      .given(requestedWith('alice'))
      .when(decideBy('alice', 'always', false))
      .thenThrows(SelfApprovalError);
  });

  it('off: anybody may, and the decision says which rule held', () => {
    const [approval] = spec
      .given(requestedWith('alice'))
      .when(decideBy('alice', 'off', false))
      .events();
    expect(approval).toMatchObject({ type: 'AskApproved', data: { decided_by: 'alice', four_eyes: 'off' } });
  });
});
