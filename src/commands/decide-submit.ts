import type { CommandLifeEvent } from '../events/command-events.js';
import type { CommandLifeState, SubmitCommand } from './command-life.js';
import { newAsk } from './decide-ask.js';
import { IdempotencyKeyReusedError, InvalidCommandError } from './errors.js';

/** Accepts a new command: GREEN is queued, YELLOW queued with a warning, RED asks a person. */
export function submit({ data, metadata }: SubmitCommand, state: CommandLifeState): CommandLifeEvent[] {
  if (state.status !== 'absent') {
    // The same idempotency key and the same request: already done, nothing new.
    if (state.command.request_hash === data.request_hash) return [];
    throw new IdempotencyKeyReusedError('this Idempotency-Key was already used with a different request');
  }
  // A spread is kept last in objects built here: V8 makes `{ ...a, b }` some fifty times slower.
  const ids = { command_id: data.command_id, task_id: data.task_id, command_type: data.command_type };
  const accepted: CommandLifeEvent = {
    type: 'CommandAccepted',
    data: {
      command_id: data.command_id,
      task_id: data.task_id,
      command_type: data.command_type,
      params: data.params,
      risk_level: data.risk_level,
      description: data.description,
      requested_by: metadata.actor,
      idempotency_key: data.idempotency_key,
      request_hash: data.idempotency_key === undefined ? undefined : data.request_hash,
    },
  };
  if (data.risk_level === 'RED') {
    if (data.payload_hash === undefined) throw new InvalidCommandError('a RED command needs the hash of its payload');
    const terms = { ttl_seconds: data.ask_ttl_seconds, warning_seconds: data.ask_warning_seconds };
    const command = {
      command_id: data.command_id,
      task_id: data.task_id,
      command_type: data.command_type,
      risk_level: data.risk_level,
      description: data.description,
      requested_by: metadata.actor,
    };
    return [accepted, newAsk(command, data.params, data.payload_hash, metadata.now, terms)];
  }
  const queued: CommandLifeEvent = { type: 'TaskQueued', data: { attempt: 1, ...ids } };
  if (data.risk_level === 'YELLOW') {
    const message = `${data.command_type} is a YELLOW command: it runs without approval; review its outcome`;
    return [accepted, { type: 'RiskWarningRaised', data: { risk_level: 'YELLOW', message, ...ids } }, queued];
  }
  return [accepted, queued];
}
