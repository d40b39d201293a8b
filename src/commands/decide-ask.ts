import type { CommandLifeEvent } from '../events/command-events.js';
import { taskIds, type CommandLifeState, type DecideAsk, type ExpireAsk, type WarnAskExpiry } from './command-life.js';
import { AskAlreadyDecidedError, AskNotFoundError, AskNotPendingError, PayloadMismatchError, SelfApprovalError } from './errors.js';

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
  if (data.four_eyes && metadata.actor === command.requested_by) {
    throw new SelfApprovalError(`${metadata.actor} requested this command and may not decide its ask`);
  }
  const ids = taskIds(command);
  const decision = { ask_id: ask.ask_id, decided_by: metadata.actor, ...(data.reason === undefined ? {} : { reason: data.reason }) };
  if (data.decision === 'deny') return [{ type: 'AskDenied', data: { ...decision, ...ids } }];
  return [
    { type: 'AskApproved', data: { payload_hash: ask.payload_hash, ...decision, ...ids } },
    { type: 'TaskQueued', data: { attempt: 1, ...ids } },
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
  return [{ type: 'AskExpired', data: { ask_id: data.ask_id, expires_at: state.ask.expires_at, ...taskIds(state.command) } }];
}
