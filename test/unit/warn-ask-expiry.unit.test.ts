import { describe, it } from 'vitest';
import { commandLifeDecider, type WarnAskExpiry } from '../../src/commands/command-life.js';
import { AskNotPendingError } from '../../src/commands/errors.js';
import type { CommandLifeEvent } from '../../src/events/command-events.js';
import { deciderSpec } from '../support/decider-spec.js';
import { events } from '../support/fixtures.js';

// An ask nobody decided yet is warned about once, at its warn_at (ASK_EXPIRY_WARNING_SECONDS
// before it expires): the dispatcher's timer sends WarnAskExpiry, people get an AskExpiring.

const spec = deciderSpec(commandLifeDecider);
const ids = { command_id: 'cmd-1', task_id: 'task-1', command_type: 'echo.test' };

/** `null`: an ask recorded before asks carried a warn_at. */
const askCreated = (warn_at: string | null = '2026-11-23T10:55:00.000Z'): CommandLifeEvent => ({
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
    ...(warn_at === null ? {} : { warn_at }),
    options: ['approve', 'deny'],
  },
});
const pending = [events.accepted('RED'), askCreated()];
const warn = (at: string, ask_id = 'ask-1'): WarnAskExpiry => ({
  type: 'WarnAskExpiry',
  data: { ask_id },
  metadata: { now: new Date(at), correlation_id: 'corr-1', actor: 'nexus' },
});
const expiring: CommandLifeEvent = {
  type: 'AskExpiring',
  data: { ...ids, ask_id: 'ask-1', expires_at: '2026-11-23T11:00:00.000Z' },
};

describe('WarnAskExpiry', () => {
  it('warns about a pending ask at its warn_at, and after it while the ask is still pending', () => {
    spec.given(pending).when(warn('2026-11-23T10:55:00.000Z')).then([expiring]);
    spec.given(pending).when(warn('2026-11-23T11:00:00.000Z')).then([expiring]);
  });

  it('refuses before the warn_at, and for an ask created without one', () => {
    spec.given(pending).when(warn('2026-11-23T10:54:59.999Z')).thenThrows(AskNotPendingError);
    spec
      .given([events.accepted('RED'), askCreated(null)])
      .when(warn('2026-11-23T10:59:00.000Z'))
      .thenThrows(AskNotPendingError);
  });

  it('refuses an ask that is not waiting for a decision: another ask id, no ask, decided or expired', () => {
    const at = '2026-11-23T10:56:00.000Z';
    spec.given(pending).when(warn(at, 'ask-2')).thenThrows(AskNotPendingError);
    spec.given([]).when(warn(at)).thenThrows(AskNotPendingError);
    spec.given([events.accepted(), events.queued()]).when(warn(at)).thenThrows(AskNotPendingError);
    const approved: CommandLifeEvent = {
      type: 'AskApproved',
      data: { ...ids, ask_id: 'ask-1', decided_by: 'bob', payload_hash: 'payload-1' },
    };
    spec
      .given([...pending, approved, events.queued()])
      .when(warn(at))
      .thenThrows(AskNotPendingError);
    spec
      .given([...pending, { type: 'AskDenied', data: { ...ids, ask_id: 'ask-1', decided_by: 'bob' } }])
      .when(warn(at))
      .thenThrows(AskNotPendingError);
    spec
      .given([
        ...pending,
        { type: 'AskExpired', data: { ...ids, ask_id: 'ask-1', expires_at: '2026-11-23T11:00:00.000Z' } },
      ])
      .when(warn(at))
      .thenThrows(AskNotPendingError);
  });

  it('changes nothing when the ask was already warned about', () => {
    spec
      .given([...pending, expiring])
      .when(warn('2026-11-23T10:56:00.000Z'))
      .thenNothingHappened();
  });
});
