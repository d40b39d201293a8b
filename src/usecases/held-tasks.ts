import {
  commandLifeDecider,
  type AskTerms,
  type DiscardHeldTask,
  type RequeueHeldTask,
} from '../commands/command-life.js';
import type { CommandMetadata } from '../commands/decider.js';
import { CommandNotFoundError } from '../commands/errors.js';
import type { FourEyesRule } from '../commands/four-eyes.js';
import { handleCommand } from '../commands/handle-command.js';
import { readCommandLife } from '../commands/read-command-life.js';
import { commandStream } from '../events/command-events.js';
import type { Tenant } from '../events/tenant.js';
import type { Caller, UseCaseDeps } from './use-case.js';

export interface HeldTaskDeps extends UseCaseDeps {
  /** APPROVAL_FOUR_EYES: a RED command requeued by its requester asks again. */
  readonly fourEyes: FourEyesRule;
  /** The ask a RED command gets when requeued past its approval. */
  readonly askTerms: AskTerms;
}

export interface HeldTaskRequest {
  readonly tenant: Tenant;
  readonly command_id: string;
  readonly reason?: string;
  readonly caller: Caller;
}

export interface HeldTaskDecided {
  readonly command_id: string;
  /** The command's own correlation id. */
  readonly correlation_id: string;
  /** A RED command requeued past its approval asks again: the new ask. */
  readonly ask_id?: string;
}

/**
 * Sends a held task (dead-lettered, held by triage) back to the queue for one more attempt.
 *
 * @example
 *   await requeueHeldTask(deps, { tenant, command_id, caller });
 */
export const requeueHeldTask = (deps: HeldTaskDeps, request: HeldTaskRequest): Promise<HeldTaskDecided> =>
  decideHeldTask(deps, request, (task_id, why, metadata) => ({
    type: 'RequeueHeldTask',
    data: {
      task_id,
      four_eyes: { rule: deps.fourEyes, shared: request.caller.shared },
      ask_terms: deps.askTerms,
      ...why,
    },
    metadata,
  }));

/** Gives up on a held task: it stays dead-lettered, and its held alarm is resolved. */
export const discardHeldTask = (deps: HeldTaskDeps, request: HeldTaskRequest): Promise<HeldTaskDecided> =>
  decideHeldTask(deps, request, (task_id, why, metadata) => ({
    type: 'DiscardHeldTask',
    data: { task_id, ...why },
    metadata,
  }));

async function decideHeldTask(
  deps: HeldTaskDeps,
  request: HeldTaskRequest,
  command: (taskId: string, why: { reason?: string }, metadata: CommandMetadata) => RequeueHeldTask | DiscardHeldTask,
): Promise<HeldTaskDecided> {
  const { tenant, command_id, caller } = request;
  // 1. load
  const life = await readCommandLife(deps.store, tenant, command_id);
  if (life.state.status === 'absent' || life.correlation_id === undefined)
    throw new CommandNotFoundError(`no command ${command_id} in this tenant`);
  // 2. decide and 3. append. Every event of a command carries its own correlation id; the caller's request is the cause.
  const metadata = {
    now: deps.now(),
    correlation_id: life.correlation_id,
    actor: caller.id,
    causation_id: caller.correlation_id,
  };
  const why = { reason: request.reason };
  const { events } = await handleCommand(
    deps.store,
    commandLifeDecider,
    { tenant, stream: commandStream(command_id) },
    command(life.state.command.task_id, why, metadata),
    { newEventId: deps.newId, known: life },
  );
  let ask_id;
  for (const event of events) if (event.type === 'AskCreated') ask_id ??= event.data.ask_id;
  return { command_id, correlation_id: life.correlation_id, ...(ask_id === undefined ? {} : { ask_id }) };
}
