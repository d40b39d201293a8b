import { describe, expect, it } from 'vitest';
import { commandLifeDecider, type CommandLifeCommand } from '../../src/commands/command-life.js';
import {
  AskNotPendingError,
  CommandNotFoundError,
  IdempotencyKeyReusedError,
  StaleAttemptError,
  TaskNotRunnableError,
} from '../../src/commands/errors.js';
import { retryDelayMs } from '../../src/commands/retry-policy.js';
import { deciderSpec } from '../support/decider-spec.js';
import { events, metadata, now, retryPolicy, submit } from '../support/fixtures.js';

const spec = deciderSpec(commandLifeDecider);
const ids = { command_id: 'cmd-1', task_id: 'task-1', command_type: 'echo.test' };

const start = (attempt = 1, executor_id = 'worker-a', at = now): CommandLifeCommand => ({
  type: 'StartTask',
  data: { task_id: 'task-1', attempt, executor_id },
  metadata: metadata(at),
});
const complete = (attempt = 1): CommandLifeCommand => ({
  type: 'CompleteTask',
  data: { task_id: 'task-1', attempt, result: { echo: 1 }, duration_ms: 2 },
  metadata: metadata(),
});
const fail = (attempt = 1, retryable = true, jitter = 0): CommandLifeCommand => ({
  type: 'FailTask',
  data: {
    task_id: 'task-1',
    attempt,
    error: { code: 'BOOM', message: 'boom' },
    retryable,
    duration_ms: 1,
    retry_policy: retryPolicy,
    jitter,
  },
  metadata: metadata(),
});

describe('SubmitCommand', () => {
  it('accepts a GREEN command and queues its task', () => {
    spec.given([]).when(submit()).then([events.accepted(), events.queued()]);
  });

  it('accepts a YELLOW command with a risk warning, and queues it', () => {
    const [accepted, warning, queued] = spec
      .given([])
      .when(submit({ risk_level: 'YELLOW' }))
      .events();
    expect(accepted).toEqual(events.accepted('YELLOW'));
    expect(warning).toMatchObject({ type: 'RiskWarningRaised', data: { ...ids, risk_level: 'YELLOW' } });
    expect(queued).toEqual(events.queued());
  });

  it('creates an ask for a RED command and queues nothing', () => {
    const produced = spec
      .given([])
      .when(submit({ risk_level: 'RED' }))
      .events();
    expect(produced.map((e) => e.type)).toEqual(['CommandAccepted', 'AskCreated']);
    expect(produced[1]).toEqual({
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
    });
  });

  it('changes nothing when the same request comes again (idempotency key replay)', () => {
    spec.given([events.accepted(), events.queued()]).when(submit()).thenNothingHappened();
  });

  it('refuses the same command id with a different request', () => {
    spec
      .given([events.accepted()])
      .when(submit({ request_hash: 'other' }))
      .thenThrows(IdempotencyKeyReusedError);
  });
});

describe('StartTask', () => {
  it('starts a queued task', () => {
    spec.given([events.accepted(), events.queued()]).when(start()).then([events.started()]);
  });

  it('refuses a task of a command never submitted', () => {
    spec.given([]).when(start()).thenThrows(CommandNotFoundError);
  });

  it('refuses to start a task waiting for approval', () => {
    spec
      .given([events.accepted('RED')])
      .when(start())
      .thenThrows(TaskNotRunnableError);
  });

  it('refuses a second executor while one runs the attempt', () => {
    spec
      .given([events.accepted(), events.queued(), events.started()])
      .when(start(1, 'worker-b'))
      .thenThrows(TaskNotRunnableError);
  });

  it('changes nothing when the same executor claims the same attempt again', () => {
    spec.given([events.accepted(), events.queued(), events.started()]).when(start()).thenNothingHappened();
  });

  it('refuses a retry before it is due, and starts it once due', () => {
    const history = [
      events.accepted(),
      events.queued(),
      events.started(),
      events.failed(),
      events.retryScheduled(2, '2026-11-23T10:00:05.000Z', 5000),
    ];
    spec
      .given(history)
      .when(start(2, 'worker-a', new Date('2026-11-23T10:00:04.999Z')))
      .thenThrows(TaskNotRunnableError);
    spec
      .given(history)
      .when(start(2, 'worker-a', new Date('2026-11-23T10:00:05.000Z')))
      .then([events.started(2)]);
  });

  it('refuses a stale attempt number', () => {
    spec.given([events.accepted(), events.queued()]).when(start(2)).thenThrows(TaskNotRunnableError);
  });

  it('refuses to start a finished task', () => {
    spec
      .given([events.accepted(), events.queued(), events.started(), events.succeeded()])
      .when(start())
      .thenThrows(TaskNotRunnableError);
  });
});

describe('CompleteTask', () => {
  it('records the result of the running attempt', () => {
    spec.given([events.accepted(), events.queued(), events.started()]).when(complete()).then([events.succeeded()]);
  });

  it('changes nothing when the same attempt completes twice', () => {
    spec
      .given([events.accepted(), events.queued(), events.started(), events.succeeded()])
      .when(complete())
      .thenNothingHappened();
  });

  it('rejects the result of an attempt that is not running (a stale executor)', () => {
    spec.given([events.accepted(), events.queued()]).when(complete()).thenThrows(StaleAttemptError);
    const retried = [
      events.accepted(),
      events.queued(),
      events.started(),
      events.failed(),
      events.retryScheduled(2, now.toISOString(), 0),
      events.started(2),
    ];
    spec.given(retried).when(complete(1)).thenThrows(StaleAttemptError);
  });

  it('refuses a task of a command never submitted', () => {
    spec.given([]).when(complete()).thenThrows(CommandNotFoundError);
  });
});

describe('FailTask', () => {
  const running = [events.accepted(), events.queued(), events.started()];

  it('schedules a retry with backoff while retries remain', () => {
    const delay = retryDelayMs(1, retryPolicy, 0);
    spec
      .given(running)
      .when(fail(1))
      .then([events.failed(1), events.retryScheduled(2, new Date(now.getTime() + delay).toISOString(), delay)]);
  });

  it('dead-letters after MAX_RETRIES retries', () => {
    const third = [
      ...running,
      events.failed(1),
      events.retryScheduled(2, now.toISOString(), 0),
      events.started(2),
      events.failed(2),
      events.retryScheduled(3, now.toISOString(), 0),
      events.started(3),
    ];
    spec
      .given(third)
      .when(fail(3))
      .then([events.failed(3), events.deadLettered(3)]);
  });

  it('dead-letters a failure that cannot succeed on retry at once', () => {
    spec
      .given(running)
      .when(fail(1, false))
      .then([events.failed(1, false), events.deadLettered(1)]);
  });

  it('changes nothing when the same failure is recorded twice', () => {
    spec
      .given([...running, events.failed(1), events.retryScheduled(2, now.toISOString(), 0)])
      .when(fail(1))
      .thenNothingHappened();
    spec
      .given([...running, events.failed(1, false), events.deadLettered(1)])
      .when(fail(1, false))
      .thenNothingHappened();
  });

  it('rejects a failure of an attempt that is not running', () => {
    spec.given([events.accepted(), events.queued()]).when(fail(1)).thenThrows(StaleAttemptError);
  });
});

describe('ExpireAsk', () => {
  const askCreated = (): ReturnType<typeof events.queued> => ({
    type: 'AskCreated',
    data: {
      ...ids,
      ask_id: 'ask-1',
      risk_level: 'RED',
      description: 'd',
      params: {},
      payload_hash: 'p',
      requested_by: 'alice',
      expires_at: '2026-11-23T11:00:00.000Z',
      options: ['approve', 'deny'],
    },
  });
  const expire = (at: string, ask_id = 'ask-1'): CommandLifeCommand => ({
    type: 'ExpireAsk',
    data: { ask_id },
    metadata: metadata(new Date(at)),
  });
  const expired = {
    type: 'AskExpired' as const,
    data: { ask_id: 'ask-1', expires_at: '2026-11-23T11:00:00.000Z', ...ids },
  };

  it('ends an undecided ask at its expiry', () => {
    spec
      .given([events.accepted('RED'), askCreated()])
      .when(expire('2026-11-23T11:00:00.000Z'))
      .then([expired]);
  });

  it('refuses before the expiry, and for an ask that is not pending', () => {
    spec
      .given([events.accepted('RED'), askCreated()])
      .when(expire('2026-11-23T10:59:59.999Z'))
      .thenThrows(AskNotPendingError);
    spec
      .given([events.accepted('RED'), askCreated()])
      .when(expire('2026-11-23T12:00:00.000Z', 'ask-2'))
      .thenThrows(AskNotPendingError);
    spec
      .given([events.accepted(), events.queued()])
      .when(expire('2026-11-23T12:00:00.000Z'))
      .thenThrows(AskNotPendingError);
  });

  it('changes nothing when the ask has already expired, and the command never starts', () => {
    spec
      .given([events.accepted('RED'), askCreated(), expired])
      .when(expire('2026-11-23T12:00:00.000Z'))
      .thenNothingHappened();
    spec
      .given([events.accepted('RED'), askCreated(), expired])
      .when(start())
      .thenThrows(TaskNotRunnableError);
  });
});

describe('retry backoff', () => {
  it('doubles per attempt, is capped, and keeps half of the delay fixed', () => {
    const policy = { max_retries: 10, base_delay_ms: 100, max_delay_ms: 1000 };
    expect([1, 2, 3, 4, 5].map((a) => retryDelayMs(a, policy, 0))).toEqual([50, 100, 200, 400, 500]);
    expect([1, 2, 3, 4, 5].map((a) => retryDelayMs(a, policy, 0.999999))).toEqual([100, 200, 400, 800, 1000]);
  });
});
