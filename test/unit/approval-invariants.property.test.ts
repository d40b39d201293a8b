import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Catalog } from '../../src/catalog/catalog.js';
import { defineCommand } from '../../src/catalog/define-command.js';
import { askIdFor } from '../../src/commands/ask-ids.js';
import { commandLifeDecider, type CommandLifeCommand } from '../../src/commands/command-life.js';
import { DomainError } from '../../src/commands/errors.js';
import { handleCommand } from '../../src/commands/handle-command.js';
import { dueStep } from '../../src/dispatch/due-step.js';
import { TaskQueue } from '../../src/dispatch/task-queue.js';
import { commandStream, type CommandLifeEvent } from '../../src/events/command-events.js';
import type { RecordedEvent } from '../../src/events/envelope.js';
import { newId, payloadHash } from '../../src/shared/ids.js';
import { createLogger } from '../../src/observability/logger.js';
import type { PendingTask } from '../../src/projections/pending-tasks.js';
import { ConcurrencyError } from '../../src/store/event-store.js';
import { memoryEventStore } from '../../src/store/memory/memory-event-store.js';
import { answerAsk } from '../../src/usecases/answer-ask.js';
import { recordSubmission } from '../../src/usecases/submit-command.js';
import { loadTask } from '../../src/worker/load-task.js';
import type { TaskOutcome, TaskRunnerDeps } from '../../src/worker/run-task.js';

// Contract 3, as a property: whatever happens — commands, approvals, denials, duplicate and
// concurrent decisions, forged or stale payload hashes, expiries, restarts, repeated
// deliveries — a RED command runs only after exactly one approval of its own ask, with the
// payload that approval is bound to; denied, expired and self-approved commands never run;
// nothing runs twice. The real decider, services, runner and task queue, on the in-memory store.

const tenant = { org_id: 'prop', project_id: 'p' };
const people = ['alice', 'bob', 'carol'] as const;
type Person = (typeof people)[number];
const TTL_SECONDS = 60;

type Op =
  | { kind: 'submit'; risk: 'RED' | 'GREEN'; by: Person; note: string }
  | { kind: 'decide'; ask: number; decision: 'approve' | 'deny'; by: Person; hash: 'none' | 'seen' | 'forged' }
  | { kind: 'race'; ask: number; deciders: Array<{ decision: 'approve' | 'deny'; by: Person }> }
  | { kind: 'tick'; seconds: number }
  | { kind: 'run'; steps: number; deliverTwice: boolean }
  | { kind: 'restart' }
  | { kind: 'forgeClaim'; ask: number };

const person = fc.constantFrom(...people);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('submit' as const),
      risk: fc.constantFrom('RED' as const, 'GREEN' as const),
      by: person,
      note: fc.string({ maxLength: 6 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('decide' as const),
      ask: fc.nat(20),
      decision: fc.constantFrom('approve' as const, 'deny' as const),
      by: person,
      hash: fc.constantFrom('none' as const, 'seen' as const, 'forged' as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('race' as const),
      ask: fc.nat(20),
      deciders: fc.array(fc.record({ decision: fc.constantFrom('approve' as const, 'deny' as const), by: person }), {
        minLength: 2,
        maxLength: 5,
      }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), seconds: fc.integer({ min: 1, max: 90 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('run' as const),
      steps: fc.integer({ min: 1, max: 6 }),
      deliverTwice: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('forgeClaim' as const), ask: fc.nat(20) }) },
);

interface Execution {
  readonly command_id: string;
  readonly hash: string;
  readonly at: number;
}

async function scenario(ops: readonly Op[]) {
  const store = memoryEventStore();
  let now = Date.parse('2026-11-24T00:00:00.000Z');
  const executions: Execution[] = [];
  const record = (type: string) =>
    defineCommand({
      type,
      risk: type === 'prop.red' ? 'RED' : 'GREEN',
      description: type,
      params: z.object({ note: z.string() }),
      handler: (params, { command_id }) => {
        executions.push({ command_id, hash: payloadHash(type, params), at: now });
        return { ok: true };
      },
    });
  const catalog = new Catalog([record('prop.red'), record('prop.green')]);
  const deps: TaskRunnerDeps = {
    store,
    catalog,
    memory: () => ({ get: async () => undefined, all: async () => ({}), set: async () => {}, delete: async () => {} }),
    executorId: 'prop-executor',
    retryPolicy: { max_retries: 1, base_delay_ms: 0, max_delay_ms: 0 },
    triage: {
      requeue: [],
      hold: [],
      alarm: [],
      max_requeues: 0,
      ask_terms: { ttl_seconds: TTL_SECONDS, warning_seconds: 10 },
    },
    taskTimeoutMs: 10_000,
    logger: createLogger({ level: 'silent' }),
    now: () => new Date(now),
    newEventId: () => newId(),
    random: () => 0.5,
  };
  const shutdown = new AbortController().signal;
  const commands: Array<{
    command_id: string;
    ask_id: string;
    requester: Person;
    risk: 'RED' | 'GREEN';
    hash: string;
  }> = [];

  // The embedded dispatcher's loop, step by step: fold the log into the queue, claim what is due.
  let queue = new TaskQueue();
  let folded = 0;
  const busy = new Set<string>();
  const sync = async () => {
    for (const event of await store.readFeed({ after: folded, limit: 100_000 })) queue.apply(event, now);
    folded = await store.headPosition();
  };
  // As the dispatcher does: the queue holds no params, the task is read from the log to act on,
  // and the dispatcher's own routing says what is due for it.
  const attempt = async (claimed: PendingTask): Promise<TaskOutcome> => {
    const task = await loadTask(store, claimed.tenant, claimed.command_id, claimed.correlation_id);
    return dueStep(task.state.status)(deps, task, shutdown);
  };

  for (const step of ops) {
    switch (step.kind) {
      case 'submit': {
        const command_id = newId('cmd');
        const params = { note: step.note };
        const type = step.risk === 'RED' ? 'prop.red' : 'prop.green';
        const hash = payloadHash(type, params);
        await recordSubmission(
          store,
          tenant,
          {
            type: 'SubmitCommand',
            data: {
              command_id,
              task_id: newId('task'),
              command_type: type,
              params,
              risk_level: step.risk,
              description: type,
              ask_ttl_seconds: TTL_SECONDS,
              ask_warning_seconds: 10,
              ...(step.risk === 'RED' ? { payload_hash: hash } : {}),
            },
            metadata: { now: new Date(now), correlation_id: command_id, actor: step.by },
          },
          () => newId(),
        );
        commands.push({ command_id, ask_id: askIdFor(command_id), requester: step.by, risk: step.risk, hash });
        break;
      }
      case 'decide':
      case 'race': {
        const target = commands.filter((c) => c.risk === 'RED')[step.ask];
        if (!target) break;
        const deciders = step.kind === 'decide' ? [step] : step.deciders.map((d) => ({ ...d, hash: 'none' as const }));
        await Promise.all(
          deciders.map((d) =>
            answerAsk(
              {
                store,
                fourEyes: 'always',
                approvalTtlSeconds: TTL_SECONDS,
                now: () => new Date(now),
                newId: () => newId(),
              },
              {
                tenant,
                ask_id: target.ask_id,
                decision: d.decision,
                ...(d.hash === 'seen'
                  ? { payload_hash: target.hash }
                  : d.hash === 'forged'
                    ? { payload_hash: 'f'.repeat(64) }
                    : {}),
                caller: { id: d.by, shared: false, correlation_id: newId('corr') },
              },
            ).catch((error: unknown) => {
              if (!(error instanceof DomainError)) throw error;
            }),
          ),
        );
        break;
      }
      case 'tick':
        now += step.seconds * 1000;
        break;
      case 'run': {
        await sync();
        const claimed: PendingTask[] = [];
        for (let i = 0; i < step.steps; i++) {
          const task = queue.claim(now);
          if (task) claimed.push(task);
        }
        await Promise.all(
          claimed.map(async (task) => {
            const key = task.command_id;
            // a second delivery of the same claim finds the command busy, as in the dispatcher
            const deliveries = step.deliverTwice ? [task, task] : [task];
            await Promise.all(
              deliveries.map(async (delivered) => {
                if (busy.has(key)) return;
                busy.add(key);
                try {
                  if ((await attempt(delivered)) === 'skipped') queue.release(delivered, now, now);
                } finally {
                  busy.delete(key);
                }
              }),
            );
          }),
        );
        break;
      }
      case 'restart':
        // a new process: the queue is folded again from the whole log; attempts left running are due
        queue = new TaskQueue();
        folded = 0;
        await sync();
        for (const orphan of queue.running()) queue.release(orphan, now, now, { running: true });
        break;
      case 'forgeClaim': {
        // An executor about to run another payload than the approved one claims an approved
        // task; were the claim accepted, it would run that payload.
        const approved = [];
        for (const c of commands.filter((c) => c.risk === 'RED')) {
          const history = await store.readStream(tenant, commandStream(c.command_id));
          const state = history.reduce(
            (s, e) => commandLifeDecider.evolve(s, e as never),
            commandLifeDecider.initialState(),
          );
          if (state.status === 'queued' || state.status === 'retry_scheduled')
            approved.push({ c, state, revision: history.length - 1 });
        }
        const target = approved[step.ask % Math.max(1, approved.length)];
        if (!target || (target.state.status !== 'queued' && target.state.status !== 'retry_scheduled')) break;
        const forgedParams = { note: `${target.state.command.params.note as string}-forged` };
        const claim: CommandLifeCommand = {
          type: 'StartTask',
          data: {
            task_id: target.state.command.task_id,
            attempt: target.state.attempt,
            executor_id: 'rogue',
            payload_hash: payloadHash('prop.red', forgedParams),
          },
          metadata: { now: new Date(now), correlation_id: 'rogue', actor: 'rogue' },
        };
        const outcome = await handleCommand(
          store,
          commandLifeDecider,
          { tenant, stream: commandStream(target.c.command_id) },
          claim,
          {
            newEventId: () => newId(),
            known: { state: target.state, revision: target.revision },
            maxTries: 1,
          },
        ).catch((error: unknown) => {
          if (!(error instanceof DomainError) && !(error instanceof ConcurrencyError)) throw error;
          return undefined;
        });
        if (outcome?.events.some((e) => e.type === 'TaskStarted')) {
          executions.push({ command_id: target.c.command_id, hash: payloadHash('prop.red', forgedParams), at: now });
        }
        break;
      }
    }
  }
  // then let everything due happen: past every expiry, until nothing is left to do
  now += (TTL_SECONDS + 1) * 1000;
  for (let round = 0; round < 50; round++) {
    await sync();
    const task = queue.claim(now);
    if (!task) break;
    if ((await attempt(task)) === 'skipped') queue.release(task, now + 1, now);
  }
  return { store, executions, commands };
}

function check({ executions, commands }: Awaited<ReturnType<typeof scenario>>, log: readonly RecordedEvent[]) {
  for (const command of commands) {
    const events = log.filter(
      (e) => (e.data as { command_id?: string }).command_id === command.command_id,
    ) as RecordedEvent<CommandLifeEvent>[];
    const runs = executions.filter((x) => x.command_id === command.command_id);
    expect(runs.length, 'nothing runs twice').toBeLessThanOrEqual(1);
    if (command.risk === 'GREEN') continue;
    const decisions = events.filter(
      (e) => e.type === 'AskApproved' || e.type === 'AskDenied' || e.type === 'AskExpired',
    );
    expect(decisions.length, 'an ask is decided once').toBeLessThanOrEqual(1);
    const approvals = events.filter((e) => e.type === 'AskApproved');
    const asked = events.find((e) => e.type === 'AskCreated');
    for (const approval of approvals) {
      expect(approval.data.decided_by, 'four eyes').not.toBe(command.requester);
      if (asked?.type === 'AskCreated')
        expect(Date.parse(approval.metadata.occurred_at), 'decided before the expiry').toBeLessThan(
          Date.parse(asked.data.expires_at),
        );
    }
    if (runs.length === 0) continue;
    expect(approvals, 'a RED command runs only after an approval').toHaveLength(1);
    expect(runs[0]!.hash, 'with the payload the approval is bound to').toBe(approvals[0]!.data.payload_hash);
    expect(
      events.some((e) => e.type === 'AskDenied' || e.type === 'AskExpired'),
      'denied and expired commands never run',
    ).toBe(false);
    const started = events.find((e) => e.type === 'TaskStarted');
    expect(started && started.position > approvals[0]!.position, 'after the approval').toBe(true);
  }
}

describe('RED commands never run without the approval of their exact payload', () => {
  it('holds over thousands of random interleavings', async () => {
    const seen = { redRuns: 0, approvals: 0, denials: 0, expiries: 0, mismatches: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 4, maxLength: 30 }), async (ops) => {
        const result = await scenario(ops);
        const log = await result.store.readFeed({ after: 0, limit: 1_000_000 });
        check(result, log);
        expect((await result.store.verifyChain(tenant)).ok).toBe(true);
        const red = new Set(result.commands.filter((c) => c.risk === 'RED').map((c) => c.command_id));
        seen.redRuns += result.executions.filter((x) => red.has(x.command_id)).length;
        seen.approvals += log.filter((e) => e.type === 'AskApproved').length;
        seen.denials += log.filter((e) => e.type === 'AskDenied').length;
        seen.expiries += log.filter((e) => e.type === 'AskExpired').length;
        seen.mismatches += log.filter(
          (e) =>
            e.type === 'TaskFailed' && (e.data as { error: { code: string } }).error.code === 'PAYLOAD_HASH_MISMATCH',
        ).length;
      }),
      { numRuns: 2000 },
    );
    // the runs did explore what the property is about
    for (const [what, count] of Object.entries(seen)) expect(count, what).toBeGreaterThan(3);
  });
});
