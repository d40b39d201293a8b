import { handleCommand } from '../commands/handle-command.js';
import { autopilotDecider } from '../commands/tenant-controls.js';
import { AUTOPILOT_STREAM } from '../events/tenant-events.js';
import type { Tenant } from '../events/tenant.js';
import type { Caller, UseCaseDeps } from './use-case.js';

export interface AutopilotRequest {
  readonly tenant: Tenant;
  readonly action: 'pause' | 'resume';
  readonly reason?: string;
  readonly caller: Caller;
}

/**
 * Pauses or resumes a tenant's dispatching. Paused, commands are still accepted and recorded,
 * but none runs until resumed.
 *
 * @example
 *   const { autopilot } = await setAutopilot(deps, { tenant, action: 'pause', caller });
 */
export async function setAutopilot(
  deps: UseCaseDeps,
  request: AutopilotRequest,
): Promise<{ autopilot: 'paused' | 'running' }> {
  const { caller } = request;
  const command = {
    type: request.action === 'pause' ? ('PauseAutopilot' as const) : ('ResumeAutopilot' as const),
    data: { reason: request.reason },
    metadata: { now: deps.now(), correlation_id: caller.correlation_id, actor: caller.id },
  };
  const { state } = await handleCommand(
    deps.store,
    autopilotDecider,
    { tenant: request.tenant, stream: AUTOPILOT_STREAM },
    command,
    { newEventId: deps.newId },
  );
  return { autopilot: state.paused ? 'paused' : 'running' };
}
