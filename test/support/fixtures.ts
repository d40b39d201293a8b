import type { CommandMetadata } from '../../src/commands/decider.js';
import type { SubmitCommand } from '../../src/commands/command-life.js';
import type { CommandLifeEvent } from '../../src/events/command-events.js';
import type { RecordedEvent } from '../../src/events/envelope.js';
import type { Tenant } from '../../src/events/tenant.js';

export const tenant: Tenant = { org_id: 'acme', project_id: 'web' };
export const otherTenant: Tenant = { org_id: 'globex', project_id: 'web' };

export const now = new Date('2026-11-23T10:00:00.000Z');
export const metadata = (at: Date = now): CommandMetadata => ({ now: at, correlation_id: 'corr-1', actor: 'alice' });

export const retryPolicy = { max_retries: 2, base_delay_ms: 1000, max_delay_ms: 60_000 };

export function submit(overrides: Partial<SubmitCommand['data']> = {}): SubmitCommand {
  return {
    type: 'SubmitCommand',
    data: {
      command_id: 'cmd-1',
      task_id: 'task-1',
      command_type: 'echo.test',
      params: { hello: 'world' },
      risk_level: 'GREEN',
      description: 'Answer the params unchanged',
      request_hash: 'hash-1',
      idempotency_key: 'key-1',
      payload_hash: 'payload-1',
      ask_ttl_seconds: 3600,
      ask_warning_seconds: 300,
      ...overrides,
    },
    metadata: metadata(),
  };
}

const ids = { command_id: 'cmd-1', task_id: 'task-1', command_type: 'echo.test' };

export const events = {
  accepted: (risk: 'GREEN' | 'YELLOW' | 'RED' = 'GREEN'): CommandLifeEvent => ({
    type: 'CommandAccepted',
    data: {
      ...ids,
      params: { hello: 'world' },
      risk_level: risk,
      description: 'Answer the params unchanged',
      requested_by: 'alice',
      idempotency_key: 'key-1',
      request_hash: 'hash-1',
    },
  }),
  queued: (attempt = 1): CommandLifeEvent => ({ type: 'TaskQueued', data: { ...ids, attempt } }),
  started: (attempt = 1, executor_id = 'worker-a'): CommandLifeEvent => ({
    type: 'TaskStarted',
    data: { ...ids, attempt, executor_id },
  }),
  succeeded: (attempt = 1): CommandLifeEvent => ({
    type: 'TaskSucceeded',
    data: { ...ids, attempt, result: { echo: 1 }, duration_ms: 2 },
  }),
  failed: (attempt = 1, retryable = true): CommandLifeEvent => ({
    type: 'TaskFailed',
    data: { ...ids, attempt, error: { code: 'BOOM', message: 'boom' }, retryable, duration_ms: 1 },
  }),
  retryScheduled: (attempt: number, retry_at: string, delay_ms: number): CommandLifeEvent => ({
    type: 'TaskRetryScheduled',
    data: { ...ids, attempt, retry_at, delay_ms },
  }),
  deadLettered: (attempts: number): CommandLifeEvent => ({
    type: 'TaskDeadLettered',
    data: { ...ids, attempts, error: { code: 'BOOM', message: 'boom' } },
  }),
};

/** Events as the log would hand them back: positions from 1, one stream. */
export function recorded(
  domainEvents: readonly CommandLifeEvent[],
  options: { tenant?: Tenant; from?: number } = {},
): RecordedEvent[] {
  return domainEvents.map((event, i) => ({
    ...event,
    position: (options.from ?? 1) + i,
    tenant: options.tenant ?? tenant,
    stream: `command-${event.data.command_id}`,
    revision: i,
    event_id: `event-${(options.from ?? 1) + i}`,
    version: 1,
    metadata: {
      correlation_id: 'corr-1',
      occurred_at: new Date(now.getTime() + i * 1000).toISOString(),
      actor: 'alice',
    },
  }));
}
