import { describe, it } from 'vitest';
import { commandLifeDecider, type DecideAsk } from '../../src/commands/command-life.js';
import {
  AskAlreadyDecidedError,
  AskNotFoundError,
  PayloadMismatchError,
  SelfApprovalError,
} from '../../src/commands/errors.js';
import type { FourEyesRule } from '../../src/commands/four-eyes.js';
import type { CommandLifeEvent } from '../../src/events/command-events.js';
import { deciderSpec } from '../support/decider-spec.js';
import { events } from '../support/fixtures.js';

// A person approves or denies a RED command's ask: once, before it expires, on the payload it
// holds, and never the requester where four eyes bar them.

const spec = deciderSpec(commandLifeDecider);
const ids = { command_id: 'cmd-1', task_id: 'task-1', command_type: 'echo.test' };

const asked: CommandLifeEvent = {
  type: 'AskCreated',
  data: {
    ...ids,
    ask_id: 'ask-1',
    risk_level: 'RED',
    description: 'Answer the params unchanged',
    params: { hello: 'world' },
    payload_hash: 'payload-1',
    requested_by: 'alice',
    expires_at: '2026-11-23T11:00:00.000Z',
    warn_at: '2026-11-23T10:55:00.000Z',
    options: ['approve', 'deny'],
  },
};
const pending = [events.accepted('RED'), asked];

interface Decision {
  decision?: 'approve' | 'deny';
  by?: string;
  at?: string;
  ask_id?: string;
  reason?: string;
  payload_hash?: string;
  rule?: FourEyesRule;
}
const decide = ({
  decision = 'approve',
  by = 'bob',
  at = '2026-11-23T10:30:00.000Z',
  ask_id = 'ask-1',
  rule = 'named',
  reason,
  payload_hash,
}: Decision = {}): DecideAsk => ({
  type: 'DecideAsk',
  data: {
    ask_id,
    decision,
    four_eyes: { rule, shared: false },
    approval_ttl_seconds: 3600,
    ...(reason === undefined ? {} : { reason }),
    ...(payload_hash === undefined ? {} : { payload_hash }),
  },
  metadata: { now: new Date(at), correlation_id: 'corr-1', actor: by },
});

const approval = (valid_until = '2026-11-23T11:30:00.000Z'): CommandLifeEvent => ({
  type: 'AskApproved',
  data: { ...ids, ask_id: 'ask-1', decided_by: 'bob', four_eyes: 'named', payload_hash: 'payload-1', valid_until },
});
const approved = approval();
const denied: CommandLifeEvent = {
  type: 'AskDenied',
  data: { ...ids, ask_id: 'ask-1', decided_by: 'bob', four_eyes: 'named', reason: 'not now' },
};
const expired: CommandLifeEvent = {
  type: 'AskExpired',
  data: { ...ids, ask_id: 'ask-1', expires_at: '2026-11-23T11:00:00.000Z' },
};

describe('DecideAsk', () => {
  it('approves a pending ask: the approval binds its payload for approval_ttl_seconds, and the task is queued', () => {
    spec
      .given(pending)
      .when(decide())
      .then([approved, events.queued(1)]);
  });

  it('denies a pending ask, with the reason given, and queues nothing', () => {
    spec
      .given(pending)
      .when(decide({ decision: 'deny', reason: 'not now' }))
      .then([denied]);
  });

  it('approves on the payload hash the decider was shown when it is the one the ask holds', () => {
    spec
      .given(pending)
      .when(decide({ payload_hash: 'payload-1' }))
      .then([approved, events.queued(1)]);
  });

  it('refuses a decision on another payload than the ask holds', () => {
    spec
      .given(pending)
      .when(decide({ payload_hash: 'payload-2' }))
      .thenThrows(PayloadMismatchError);
    spec
      .given(pending)
      .when(decide({ decision: 'deny', payload_hash: 'payload-2' }))
      .thenThrows(PayloadMismatchError);
  });

  it('refuses a decision at or after the expiry, though the expiry is not recorded yet', () => {
    const late = { at: '2026-11-23T11:00:00.000Z' };
    spec.given(pending).when(decide(late)).thenThrows(AskAlreadyDecidedError, { outcome: 'expired' });
    spec
      .given(pending)
      .when(decide({ ...late, decision: 'deny' }))
      .thenThrows(AskAlreadyDecidedError, { outcome: 'expired' });
    spec
      .given(pending)
      .when(decide({ at: '2026-11-23T10:59:59.999Z' }))
      .then([approval('2026-11-23T11:59:59.999Z'), events.queued(1)]);
  });

  it('refuses the requester where four eyes bar them, and lets them decide where four eyes are off', () => {
    spec
      .given(pending)
      .when(decide({ by: 'alice' }))
      .thenThrows(SelfApprovalError);
    spec
      .given(pending)
      .when(decide({ by: 'alice', decision: 'deny' }))
      .thenThrows(SelfApprovalError);
    spec
      .given(pending)
      .when(decide({ by: 'alice', rule: 'off', decision: 'deny' }))
      .then([{ type: 'AskDenied', data: { ...ids, ask_id: 'ask-1', decided_by: 'alice', four_eyes: 'off' } }]);
  });

  it('refuses an ask that does not exist: no command, a command with no ask, another ask id', () => {
    spec.given([]).when(decide()).thenThrows(AskNotFoundError);
    spec.given([events.accepted(), events.queued()]).when(decide()).thenThrows(AskNotFoundError);
    spec
      .given(pending)
      .when(decide({ ask_id: 'ask-2' }))
      .thenThrows(AskNotFoundError);
  });

  it('has no no-op: a second decision, the same one included, is refused with what became of the ask', () => {
    spec
      .given([...pending, approved, events.queued(1)])
      .when(decide())
      .thenThrows(AskAlreadyDecidedError, { outcome: 'approved' });
    spec
      .given([...pending, approved, events.queued(1), events.started(1)])
      .when(decide({ decision: 'deny' }))
      .thenThrows(AskAlreadyDecidedError, { outcome: 'approved' });
    spec
      .given([...pending, denied])
      .when(decide({ decision: 'deny', reason: 'not now' }))
      .thenThrows(AskAlreadyDecidedError, { outcome: 'denied' });
    spec
      .given([...pending, denied])
      .when(decide())
      .thenThrows(AskAlreadyDecidedError, { outcome: 'denied' });
    spec
      .given([...pending, expired])
      .when(decide({ at: '2026-11-23T10:30:00.000Z' }))
      .thenThrows(AskAlreadyDecidedError, { outcome: 'expired' });
  });
});
