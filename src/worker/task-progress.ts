import type { HandlerContext } from '../catalog/define-command.js';
import { appendEvents } from '../commands/append-events.js';
import { progressStream } from '../events/progress-events.js';
import { validateEvent } from '../events/registry.js';
import type { Tenant } from '../events/tenant.js';
import type { EventStore } from '../store/event-store.js';

/** Progress reports closer together than this are dropped (a final 100 % never is). */
const MIN_INTERVAL_MS = 200;

export interface ProgressDeps {
  readonly store: EventStore;
  readonly tenant: Tenant;
  readonly ids: { command_id: string; task_id: string; command_type: string };
  readonly attempt: number;
  readonly correlation_id: string;
  readonly actor: string;
  readonly now: () => Date;
  readonly newEventId: () => string;
  /** Records the attempt's claim if it is not yet: progress never shows before `task_started`. */
  readonly claimed: () => Promise<unknown>;
}

/** The `progress` of a handler's context. */
export function taskProgress(deps: ProgressDeps): HandlerContext['progress'] {
  let last = -Infinity;
  return async ({ percent, message }) => {
    const at = deps.now();
    if (at.getTime() - last < MIN_INTERVAL_MS && percent !== 100) return;
    last = at.getTime();
    const progressed = {
      type: 'TaskProgressed',
      data: { ...deps.ids, attempt: deps.attempt, percent, message },
    } as const;
    // Refused before the claim is waited for: a bad report never shows as a started task.
    validateEvent(progressed);
    await deps.claimed();
    const metadata = { correlation_id: deps.correlation_id, actor: deps.actor, now: at };
    await appendEvents(
      deps.store,
      { tenant: deps.tenant, stream: progressStream(deps.ids.command_id) },
      [{ events: [progressed], metadata }],
      'any',
      deps.newEventId,
    );
  };
}
