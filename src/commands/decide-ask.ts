import type { AskCreated, CommandLifeEvent } from '../events/command-events.js';
import { askIdFor } from './ask-ids.js';
import {
  taskIds,
  type AcceptedCommand,
  type AskTerms,
  type CommandLifeState,
  type DecideAsk,
  type ExpireAsk,
  type WarnAskExpiry,
} from './command-life.js';
import {
  AskAlreadyDecidedError,
  AskNotFoundError,
  AskNotPendingError,
  PayloadMismatchError,
  SelfApprovalError,
} from './errors.js';
import { barsRequester } from './four-eyes.js';

/**
 * An ask for `command`, bound to `payloadHash`, open for `terms.ttl_seconds` from `now`, and
 * warned about `terms.warning_seconds` before it expires (never in the first half of its life).
 * Its id follows the command's asks so far.
 */
export function newAsk(
  command: Omit<AcceptedCommand, 'params'>,
  params: Record<string, unknown>,
  payloadHash: string,
  now: Date,
  terms: AskTerms,
): AskCreated {
  const at = now.getTime();
  const ttlMs = terms.ttl_seconds * 1000;
  const warnAt = at + Math.max(ttlMs - terms.warning_seconds * 1000, ttlMs / 2);
  return {
    type: 'AskCreated',
    data: {
      ...taskIds(command),
      ask_id: askIdFor(command.command_id, (command.asks ?? 0) + 1),
      risk_level: command.risk_level,
      description: command.description,
      params,
      payload_hash: payloadHash,
      requested_by: command.requested_by,
      expires_at: new Date(at + ttlMs).toISOString(),
      warn_at: new Date(warnAt).toISOString(),
      options: ['approve', 'deny'],
    },
  };
}

/** What became of an ask that is no longer pending, if it is this command's ask. */
function outcome(state: CommandLifeState, askId: string): 'approved' | 'denied' | 'expired' | undefined {
  if (state.status === 'absent' || state.status === 'awaiting_approval') return undefined;
  if ((state.status === 'denied' || state.status === 'expired') && state.ask_id === askId) return state.status;
  return state.command.approved_hash !== undefined ? 'approved' : undefined;
}

/**
 * A person approves or denies an ask. Exactly one decision is ever recorded; one made at or
 * after the expiry is refused (the expiry itself is recorded by the dispatcher's timer).
 */
export function decideAsk({ data, metadata }: DecideAsk, state: CommandLifeState): CommandLifeEvent[] {
  if (state.status !== 'awaiting_approval' || state.ask.ask_id !== data.ask_id) {
    const decided = outcome(state, data.ask_id);
    if (decided) throw new AskAlreadyDecidedError(decided, `ask ${data.ask_id} was already ${decided}`);
    throw new AskNotFoundError(`no ask ${data.ask_id}`);
  }
  const { command, ask } = state;
  if (metadata.now.getTime() >= Date.parse(ask.expires_at)) {
    throw new AskAlreadyDecidedError('expired', `ask ${data.ask_id} expired at ${ask.expires_at}`);
  }
  if (data.payload_hash !== undefined && data.payload_hash !== ask.payload_hash) {
    throw new PayloadMismatchError(`ask ${data.ask_id} holds another payload than the one decided on`);
  }
  if (barsRequester(data.four_eyes.rule, { id: metadata.actor, shared: data.four_eyes.shared }, command.requested_by)) {
    throw new SelfApprovalError(
      `${metadata.actor} requested this command and may not decide its ask (APPROVAL_FOUR_EYES=${data.four_eyes.rule})`,
    );
  }
  const ids = taskIds(command);
  const decision = {
    ask_id: ask.ask_id,
    decided_by: metadata.actor,
    four_eyes: data.four_eyes.rule,
    reason: data.reason,
  };
  if (data.decision === 'deny') return [{ type: 'AskDenied', data: { ...decision, ...ids } }];
  const validUntil = new Date(metadata.now.getTime() + data.approval_ttl_seconds * 1000).toISOString();
  return [
    { type: 'AskApproved', data: { payload_hash: ask.payload_hash, valid_until: validUntil, ...decision, ...ids } },
    // A command asked about again after a dead letter goes on from its last attempt.
    { type: 'TaskQueued', data: { attempt: (command.attempts_before ?? 0) + 1, ...ids } },
  ];
}

export function warnAskExpiry({ data, metadata }: WarnAskExpiry, state: CommandLifeState): CommandLifeEvent[] {
  if (state.status !== 'awaiting_approval' || state.ask.ask_id !== data.ask_id) {
    throw new AskNotPendingError(`ask ${data.ask_id} is not waiting for a decision`);
  }
  const { ask } = state;
  if (ask.warned) return [];
  if (ask.warn_at === undefined || metadata.now.getTime() < Date.parse(ask.warn_at)) {
    throw new AskNotPendingError(`ask ${data.ask_id} is not to be warned about yet`);
  }
  return [{ type: 'AskExpiring', data: { ask_id: ask.ask_id, expires_at: ask.expires_at, ...taskIds(state.command) } }];
}

export function expireAsk({ data, metadata }: ExpireAsk, state: CommandLifeState): CommandLifeEvent[] {
  if (state.status === 'expired' && state.ask_id === data.ask_id) return [];
  if (state.status !== 'awaiting_approval' || state.ask.ask_id !== data.ask_id) {
    throw new AskNotPendingError(`ask ${data.ask_id} is not waiting for a decision`);
  }
  if (metadata.now.getTime() < Date.parse(state.ask.expires_at)) {
    throw new AskNotPendingError(`ask ${data.ask_id} does not expire before ${state.ask.expires_at}`);
  }
  return [
    { type: 'AskExpired', data: { ask_id: data.ask_id, expires_at: state.ask.expires_at, ...taskIds(state.command) } },
  ];
}
