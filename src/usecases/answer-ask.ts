import { commandIdOfAsk } from '../commands/ask-ids.js';
import { commandLifeDecider } from '../commands/command-life.js';
import { AskNotFoundError } from '../commands/errors.js';
import type { FourEyesRule } from '../commands/four-eyes.js';
import { handleCommand } from '../commands/handle-command.js';
import { readCommandLife } from '../commands/read-command-life.js';
import { commandStream } from '../events/command-events.js';
import type { Tenant } from '../events/tenant.js';
import type { Caller, UseCaseDeps } from './use-case.js';

export interface AnswerAskDeps extends UseCaseDeps {
  /** APPROVAL_FOUR_EYES: who may not approve their own command. */
  readonly fourEyes: FourEyesRule;
  /** An approval lets a later requeue run without asking again for this long (ASK_TTL_SECONDS). */
  readonly approvalTtlSeconds: number;
}

export interface AnswerAskRequest {
  readonly tenant: Tenant;
  readonly ask_id: string;
  readonly decision: 'approve' | 'deny';
  readonly reason?: string;
  /** The hash of the payload the approver was shown, when the client sends it. */
  readonly payload_hash?: string;
  readonly caller: Caller;
}

export interface AskAnswered {
  readonly ask_id: string;
  readonly command_id: string;
  /** The command's own correlation id: the decision and what follows report under it. */
  readonly correlation_id: string;
  readonly position: number;
}

/**
 * Approves or denies an ask, in the stream of the ask's command, under that command's
 * correlation id. Two answers at once append at the same revision: one wins, the other is
 * decided again on the new state and refused as already decided.
 *
 * @example
 *   await answerAsk(deps, { tenant, ask_id, decision: 'approve', caller: { id: 'alice', shared: false, correlation_id } });
 */
export async function answerAsk(deps: AnswerAskDeps, request: AnswerAskRequest): Promise<AskAnswered> {
  const { tenant, ask_id, caller } = request;
  const commandId = commandIdOfAsk(ask_id);
  // 1. load: the command's history, which also gives its correlation id
  const life = commandId === undefined ? undefined : await readCommandLife(deps.store, tenant, commandId);
  if (commandId === undefined || life?.correlation_id === undefined) throw new AskNotFoundError(`no ask ${ask_id}`);
  // 2. decide and 3. append
  const decided = await handleCommand(
    deps.store,
    commandLifeDecider,
    { tenant, stream: commandStream(commandId) },
    {
      type: 'DecideAsk',
      data: {
        ask_id,
        decision: request.decision,
        four_eyes: { rule: deps.fourEyes, shared: caller.shared },
        approval_ttl_seconds: deps.approvalTtlSeconds,
        reason: request.reason,
        payload_hash: request.payload_hash,
      },
      metadata: {
        now: deps.now(),
        correlation_id: life.correlation_id,
        actor: caller.id,
        causation_id: caller.correlation_id,
      },
    },
    { newEventId: deps.newId, known: life },
  );
  return { ask_id, command_id: commandId, correlation_id: life.correlation_id, position: decided.events[0]!.position };
}
