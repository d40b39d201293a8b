import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/events/envelope.js';
import type { Tenant } from '../../src/events/tenant.js';
import { EXECUTORS_TENANT } from '../../src/events/executor-events.js';
import { openPostgresEventStore } from '../../src/store/postgres/postgres-event-store.js';
import {
  distributedEnv,
  freshDatabase,
  freshQueues,
  restartRedis,
  startRabbit,
  stopRabbit,
} from '../support/distributed.js';
import { spawnNexus, spawnWorker, type NexusProcess } from '../support/nexus-process.js';
import { ADMIN_KEY, API_KEY } from '../support/nexus.js';
import { SseClient } from '../support/sse-client.js';
import { waitUntil } from '../support/wait.js';

// Supervisors and workers as real processes on real PostgreSQL, RabbitMQ and Redis.

const headersOf = (tenant: Tenant, key = API_KEY) => ({
  'x-api-key': key,
  'x-org-id': tenant.org_id,
  'x-project-id': tenant.project_id,
  'content-type': 'application/json',
});

async function post(
  url: string,
  tenant: Tenant,
  command_type: string,
  params: Record<string, unknown>,
): Promise<string> {
  const response = await fetch(`${url}/sidecar/command`, {
    method: 'POST',
    headers: headersOf(tenant),
    body: JSON.stringify({ command_type, params }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { command_id: string }).command_id;
}

describe('distributed NEXUS: supervisor and worker processes on PostgreSQL, RabbitMQ and Redis', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let queues: ReturnType<typeof freshQueues>;
  let env: Record<string, string>;
  const processes: NexusProcess[] = [];
  const log = () => openPostgresEventStore({ connectionString: database.url });

  /** The tenant's whole log. */
  async function feed(tenant: Tenant): Promise<RecordedEvent[]> {
    const store = await log();
    try {
      const all: RecordedEvent[] = [];
      for (;;) {
        const page = await store.readFeed({ tenant, after: all.at(-1)?.position ?? 0, limit: 10_000 });
        if (page.length === 0) return all;
        all.push(...page);
      }
    } finally {
      await store.close();
    }
  }

  const count = (events: RecordedEvent[], type: string) => {
    const byCommand = new Map<string, number>();
    for (const e of events)
      if (e.type === type)
        byCommand.set(
          (e.data as { command_id: string }).command_id,
          (byCommand.get((e.data as { command_id: string }).command_id) ?? 0) + 1,
        );
    return byCommand;
  };

  async function supervisor(extra: Record<string, string> = {}): Promise<NexusProcess> {
    const started = await spawnNexus(
      { ...env, ...extra, NEXUS_DATA_DIR: mkdtempSync(join(tmpdir(), 'nexus-sup-')) },
      { testCommands: true },
    );
    processes.push(started);
    return started;
  }
  async function worker(extra: Record<string, string> = {}): Promise<NexusProcess> {
    const started = await spawnWorker({ ...env, ...extra });
    processes.push(started);
    return started;
  }

  beforeAll(async () => {
    database = await freshDatabase();
    queues = freshQueues();
    env = distributedEnv(database.url, queues);
  });
  afterAll(async () => {
    await Promise.allSettled(processes.map((p) => p.kill('SIGKILL')));
    await queues.drop().catch(() => undefined);
    await database.drop();
  });

  it('1 supervisor + 2 workers: 1,000 commands, a worker kill -9ed mid-run: exactly 1,000 completed, none lost, none twice', async () => {
    const tenant = { org_id: 'dist', project_id: 'kill' };
    const journal = join(mkdtempSync(join(tmpdir(), 'nexus-journal-')), 'runs.log');
    const sup = await supervisor();
    const first = await worker();
    const second = await worker();
    const ids: string[] = [];
    // 20 clients at once, so the workers hold a backlog of unacked messages when one dies
    const send = async (from: number, to: number) => {
      for (let i = from; i < to; i += 20)
        ids.push(
          ...(await Promise.all(
            Array.from({ length: Math.min(20, to - i) }, (_, k) =>
              post(sup.url, tenant, 'test.record', { file: journal, line: `kill-${i + k}`, ms: 200 }),
            ),
          )),
        );
    };
    await send(0, 400);
    const rest = send(400, 1000);
    // killed while the log shows it running a task
    const firstId = first.logs.find((line) => line.msg === 'worker is taking tasks')!.worker_id as string;
    await waitUntil(
      async () => {
        const running = new Set<string>();
        for (const e of await feed(tenant)) {
          const { command_id, executor_id } = e.data as { command_id: string; executor_id?: string };
          if (e.type === 'TaskStarted' && executor_id === firstId) running.add(command_id);
          else if (e.type === 'TaskSucceeded') running.delete(command_id);
        }
        return running.size > 0;
      },
      { timeoutMs: 30_000, what: 'the first worker to be running a task' },
    );
    first.child.kill('SIGKILL');
    await first.exited;
    await rest;
    await waitUntil(async () => count(await feed(tenant), 'TaskSucceeded').size === 1000, {
      timeoutMs: 120_000,
      what: '1,000 tasks to complete',
    });
    const events = await feed(tenant);
    const succeeded = count(events, 'TaskSucceeded');
    expect(new Set(ids).size).toBe(1000);
    expect([...succeeded.keys()].sort()).toEqual([...ids].sort());
    expect([...succeeded.values()].every((n) => n === 1)).toBe(true);
    // both workers worked, and the killed one had work in hand: recorded as lost, retried and
    // completed by the other
    const executors = new Set(
      events.filter((e) => e.type === 'TaskStarted').map((e) => (e.data as { executor_id: string }).executor_id),
    );
    expect(executors.size).toBe(2);
    const lost = events.filter(
      (e) => e.type === 'TaskFailed' && (e.data as { error: { code: string } }).error.code === 'WORKER_LOST',
    );
    expect(lost.length).toBeGreaterThan(0);
    // every run the journal shows but one per command is a run the killed worker never finished
    const runs = readFileSync(journal, 'utf8').trim().split('\n');
    expect(runs.length - 1000).toBeLessThanOrEqual(lost.length + 64);

    // the workers joined and the killed one left, as events; the snapshot shows them
    const idOf = (p: NexusProcess) => p.logs.find((line) => line.msg === 'worker is taking tasks')!.worker_id as string;
    const [killed, alive] = [idOf(first), idOf(second)];
    await waitUntil(
      async () =>
        (await feed(EXECUTORS_TENANT)).some(
          (e) => e.type === 'WorkerLeft' && (e.data as { worker_id: string }).worker_id === killed,
        ),
      {
        timeoutMs: 30_000,
        what: 'the killed worker to be recorded as lost',
      },
    );
    const membership = (await feed(EXECUTORS_TENANT)).map((e) => [
      e.type,
      (e.data as { worker_id: string }).worker_id,
      (e.data as { reason?: string }).reason,
    ]);
    expect(membership).toEqual(
      expect.arrayContaining([
        ['WorkerJoined', killed, undefined],
        ['WorkerJoined', alive, undefined],
        ['WorkerLeft', killed, 'lost'],
      ]),
    );
    // admins read NEXUS's own log of the workers as reports; nobody else, and nobody writes to it
    const own = { org_id: EXECUTORS_TENANT.org_id, project_id: EXECUTORS_TENANT.project_id };
    const page = (await (
      await fetch(`${sup.url}/agent/reports?after=0&limit=1000`, { headers: headersOf(own, ADMIN_KEY) })
    ).json()) as { reports: Array<{ report_type: string }> };
    expect(page.reports.map((r) => r.report_type)).toEqual(
      expect.arrayContaining(['executor_joined', 'executor_left']),
    );
    expect((await fetch(`${sup.url}/agent/reports?after=0`, { headers: headersOf(own) })).status).toBe(403);
    const write = await fetch(`${sup.url}/sidecar/command`, {
      method: 'POST',
      headers: headersOf(own, ADMIN_KEY),
      body: JSON.stringify({ command_type: 'echo.test', params: {} }),
    });
    expect(write.status).toBe(403);
    const snapshot = (await (await fetch(`${sup.url}/agent/snapshot`, { headers: headersOf(tenant) })).json()) as {
      sidecar: Record<string, { status?: string; capabilities?: string[]; completed: number }>;
    };
    expect(snapshot.sidecar[alive]).toMatchObject({ kind: 'worker', status: 'active' });
    expect(snapshot.sidecar[alive]!.capabilities).toContain('echo.test');
    expect(snapshot.sidecar[killed]).toMatchObject({ status: 'left' });
    expect(snapshot.sidecar[alive]!.completed + snapshot.sidecar[killed]!.completed).toBe(1000);
  });

  it('RabbitMQ stopped and started mid-burst: every accepted command completes once it is back', async () => {
    const tenant = { org_id: 'dist', project_id: 'rabbit' };
    const sup = processes[0]!;
    const journal = join(mkdtempSync(join(tmpdir(), 'nexus-journal-')), 'runs.log');
    const ids: string[] = [];
    // tasks that take a while, so some are in the workers' hands when the broker goes
    for (let i = 0; i < 100; i++)
      ids.push(await post(sup.url, tenant, 'test.record', { file: journal, line: `rabbit-${i}`, ms: 100 }));
    stopRabbit();
    try {
      await waitUntil(
        async () =>
          (
            (await (await fetch(`${sup.url}/health`, { headers: { 'x-api-key': ADMIN_KEY } })).json()) as {
              rabbitmq?: { status: string };
            }
          ).rabbitmq?.status === 'down',
        {
          what: '/health to report RabbitMQ down',
        },
      );
      expect(
        (
          (await (await fetch(`${sup.url}/health`, { headers: { 'x-api-key': ADMIN_KEY } })).json()) as {
            status: string;
          }
        ).status,
      ).toBe('degraded');
      // accepted while the broker is away: recorded in the log, dispatched when it returns
      for (let i = 100; i < 200; i++)
        ids.push(await post(sup.url, tenant, 'test.record', { file: journal, line: `rabbit-${i}`, ms: 0 }));
    } finally {
      await startRabbit();
    }
    for (let i = 200; i < 300; i++)
      ids.push(await post(sup.url, tenant, 'test.record', { file: journal, line: `rabbit-${i}`, ms: 0 }));
    await waitUntil(async () => count(await feed(tenant), 'TaskSucceeded').size === 300, {
      timeoutMs: 120_000,
      what: '300 tasks to complete',
    });
    const succeeded = count(await feed(tenant), 'TaskSucceeded');
    expect([...succeeded.keys()].sort()).toEqual([...ids].sort());
    expect([...succeeded.values()].every((n) => n === 1)).toBe(true);
    // redelivered and republished messages found their task done: each ran once
    const runs = readFileSync(journal, 'utf8').trim().split('\n');
    expect(runs).toHaveLength(300);
    expect(new Set(runs).size).toBe(300);
  });

  it('Redis restarted mid-run: the SSE stream has no gap and no task runs twice', async () => {
    const tenant = { org_id: 'dist', project_id: 'redis' };
    const sup = processes[0]!;
    await worker(); // two workers again, so a task could be run by either
    const journal = join(mkdtempSync(join(tmpdir(), 'nexus-journal-')), 'runs.log');
    const sse = await SseClient.connect(`${sup.url}/agent/reports/stream`, headersOf(tenant));
    const ids: string[] = [];
    // tasks that take a while, so some are in hand (and leased) when Redis goes
    for (let i = 0; i < 100; i++)
      ids.push(await post(sup.url, tenant, 'test.record', { file: journal, line: `run-${i}`, ms: 30 }));
    await restartRedis();
    for (let i = 100; i < 200; i++)
      ids.push(await post(sup.url, tenant, 'test.record', { file: journal, line: `run-${i}`, ms: 30 }));
    await waitUntil(async () => count(await feed(tenant), 'TaskSucceeded').size === 200, {
      timeoutMs: 120_000,
      what: '200 tasks to complete',
    });
    const events = await feed(tenant);
    await sse.until(() => sse.reports.length >= events.length, 30_000);
    expect(sse.reports.map((r) => r.position)).toEqual(events.map((e) => e.position));
    const runs = readFileSync(journal, 'utf8').trim().split('\n');
    expect(runs).toHaveLength(200);
    expect(new Set(runs.map((line) => line.split(' ')[0])).size).toBe(200);
    sse.close();
  });

  it('a poison task is retried MAX_RETRIES times, dead-lettered through DLQ_QUEUE and triaged by its code; the others are unaffected', async () => {
    const tenant = { org_id: 'dist', project_id: 'poison' };
    const sup = processes[0]!;
    const alarm = await post(sup.url, tenant, 'test.fail', { code: 'PROVIDER_AUTH_ERROR' });
    const hold = await post(sup.url, tenant, 'test.fail', { code: 'SCHEMA_PARSE_ERROR' });
    const requeue = await post(sup.url, tenant, 'test.fail', { code: 'PROVIDER_TIMEOUT' });
    const healthy: string[] = [];
    for (let i = 0; i < 50; i++) healthy.push(await post(sup.url, tenant, 'echo.test', { i }));
    const triagedAs = (events: RecordedEvent[], commandId: string) =>
      events
        .filter((e) => e.type === 'DeadLetterTriaged' && (e.data as { command_id: string }).command_id === commandId)
        .map((e) => (e.data as { action: string }).action);
    // PROVIDER_TIMEOUT is requeued AUTO_REQUEUE_MAX (3) times, then held
    await waitUntil(async () => triagedAs(await feed(tenant), requeue).length === 4, {
      timeoutMs: 60_000,
      what: 'the requeued poison task to be held',
    });
    const events = await feed(tenant);
    expect(triagedAs(events, alarm)).toEqual(['alarm']);
    expect(triagedAs(events, hold)).toEqual(['hold']);
    expect(triagedAs(events, requeue)).toEqual(['requeue', 'requeue', 'requeue', 'hold']);
    const failures = (id: string) =>
      events.filter((e) => e.type === 'TaskFailed' && (e.data as { command_id: string }).command_id === id).length;
    expect(failures(alarm)).toBe(4); // the first attempt and MAX_RETRIES (3) retries
    expect(failures(requeue)).toBe(7); // then one more attempt per requeue
    expect(
      events.some((e) => e.type === 'AlarmRaised' && (e.data as { command_id: string }).command_id === alarm),
    ).toBe(true);
    expect([...count(events, 'TaskSucceeded').keys()].sort()).toEqual([...healthy].sort());

    // the held ones wait for an admin
    const admin = headersOf(tenant, ADMIN_KEY);
    const listed = (await (await fetch(`${sup.url}/admin/tasks/dead-letters`, { headers: admin })).json()) as {
      held: Array<{ command_id: string; triage: string }>;
    };
    expect(listed.held.map((t) => t.command_id).sort()).toEqual([alarm, hold, requeue].sort());
    expect((await fetch(`${sup.url}/admin/tasks/dead-letters`, { headers: headersOf(tenant) })).status).toBe(403);
    const discard = await fetch(`${sup.url}/admin/tasks/${alarm}/discard`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ reason: 'key revoked' }),
    });
    expect(discard.status).toBe(202);
    expect(
      (await fetch(`${sup.url}/admin/tasks/${alarm}/discard`, { method: 'POST', headers: admin, body: '{}' })).status,
    ).toBe(409);
    expect(
      (await fetch(`${sup.url}/admin/tasks/nope/requeue`, { method: 'POST', headers: admin, body: '{}' })).status,
    ).toBe(404);
    const again = await fetch(`${sup.url}/admin/tasks/${hold}/requeue`, { method: 'POST', headers: admin, body: '{}' });
    expect(again.status).toBe(202);
    // requeued by hand, it runs once more, fails, and is held again
    await waitUntil(async () => triagedAs(await feed(tenant), hold).length === 2, {
      timeoutMs: 30_000,
      what: 'the requeued task to be triaged again',
    });
    const after = await feed(tenant);
    expect(
      after.filter((e) => e.type === 'HeldTaskDiscarded').map((e) => (e.data as { by: string; reason: string }).reason),
    ).toEqual(['key revoked']);
    expect(
      after.filter((e) => e.type === 'TaskFailed' && (e.data as { command_id: string }).command_id === hold),
    ).toHaveLength(5);
  });

  it('a supervisor kill -9ed mid-burst and started again: every command it accepted completes once', async () => {
    const tenant = { org_id: 'dist', project_id: 'supervisor-kill' };
    const dataDir = mkdtempSync(join(tmpdir(), 'nexus-sup-'));
    const doomed = await spawnNexus({ ...env, NEXUS_DATA_DIR: dataDir }, { testCommands: true });
    const accepted: string[] = [];
    const sending = (async () => {
      for (let i = 0; i < 2000; i++) {
        const response = await fetch(`${doomed.url}/sidecar/command`, {
          method: 'POST',
          headers: headersOf(tenant),
          body: JSON.stringify({ command_type: 'echo.test', params: { i } }),
        }).catch(() => undefined);
        if (response?.status !== 202) return;
        accepted.push(((await response.json()) as { command_id: string }).command_id);
      }
    })();
    await waitUntil(() => accepted.length >= 200, { what: '200 accepted commands' });
    await doomed.kill('SIGKILL');
    await sending;
    // the other supervisor (processes[0]) may dispatch them, or a new one after a restart
    processes.push(await spawnNexus({ ...env, NEXUS_DATA_DIR: dataDir }, { testCommands: true }));
    await waitUntil(async () => count(await feed(tenant), 'TaskSucceeded').size >= accepted.length, {
      timeoutMs: 60_000,
      what: 'every accepted command to complete',
    });
    const succeeded = count(await feed(tenant), 'TaskSucceeded');
    expect(accepted.every((id) => succeeded.get(id) === 1)).toBe(true);
  });

  it('serves Prometheus metrics to admins, and /health reports each dependency', async () => {
    const sup = processes[0]!;
    const tenant = { org_id: 'dist', project_id: 'metrics' };
    expect((await fetch(`${sup.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${sup.url}/metrics`, { headers: headersOf(tenant) })).status).toBe(403);
    const response = await fetch(`${sup.url}/metrics`, { headers: { 'x-api-key': ADMIN_KEY } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(/^nexus_commands_total\{command_type="echo.test",outcome="succeeded"\} \d+/m);
    expect(text).toMatch(/^nexus_task_retries_total\{command_type="test.fail"\} \d+/m);
    expect(text).toMatch(/^nexus_dead_letters_triaged_total\{action="hold"\} \d+/m);
    for (const name of [
      'nexus_queue_depth',
      'nexus_tasks_in_flight',
      'nexus_sse_clients',
      'nexus_dlq_depth',
      'nexus_append_duration_seconds_count',
    ]) {
      expect(text).toMatch(new RegExp(`^${name} \\d+`, 'm'));
    }
    const health = (await (await fetch(`${sup.url}/health`, { headers: { 'x-api-key': ADMIN_KEY } })).json()) as Record<
      string,
      unknown
    >;
    expect(health).toMatchObject({
      status: 'ok',
      mode: 'distributed',
      store: { status: 'ok' },
      rabbitmq: { status: 'ok' },
      redis: { status: 'ok' },
    });
  });

  it('two supervisor replicas on one PostgreSQL log: an SSE client on A sees, in order and without gaps, what was posted to B', async () => {
    const tenant = { org_id: 'dist', project_id: 'replicas' };
    const a = processes[0]!;
    const b = await supervisor();
    const sse = await SseClient.connect(`${a.url}/agent/reports/stream`, headersOf(tenant));
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) ids.push(await post(b.url, tenant, 'echo.test', { i }));
    await waitUntil(async () => count(await feed(tenant), 'TaskSucceeded').size === 200, {
      timeoutMs: 60_000,
      what: '200 tasks to complete',
    });
    const events = await feed(tenant);
    await sse.until(() => sse.reports.length >= events.length, 30_000);
    expect(sse.reports.map((r) => r.position)).toEqual(events.map((e) => e.position));
    expect(
      sse.reports
        .filter((r) => r.report_type === 'task_completed')
        .map((r) => r.command_id)
        .sort(),
    ).toEqual([...ids].sort());
    sse.close();
  });

  it('a worker stopped with SIGTERM finishes the task in hand, records its departure and exits 0', async () => {
    const tenant = { org_id: 'dist', project_id: 'graceful' };
    const sup = processes[0]!;
    const journal = join(mkdtempSync(join(tmpdir(), 'nexus-journal-')), 'runs.log');
    const leaving = await worker();
    const id = await post(sup.url, tenant, 'test.record', { file: journal, line: 'slow', ms: 1500 });
    // the task is in a worker's hands once it wrote its line; stop every worker but the new one
    await waitUntil(() => readFileSync(journal, { encoding: 'utf8', flag: 'a+' }).includes('slow'), {
      timeoutMs: 30_000,
      what: 'the slow task to start',
    });
    const others = processes.filter(
      (p) => p !== leaving && p.url === '' && p.child.exitCode === null && p.child.signalCode === null,
    );
    const codes = await Promise.all([leaving, ...others].map((p) => p.kill('SIGTERM')));
    expect(codes.every((code) => code === 0)).toBe(true);
    const events = await feed(tenant);
    // the task in hand, and only it, succeeded at its first attempt
    const succeeded = events.flatMap((e) =>
      e.type === 'TaskSucceeded' ? [{ command_id: e.data.command_id, attempt: e.data.attempt }] : [],
    );
    expect(succeeded).toEqual([{ command_id: id, attempt: 1 }]);
    expect(events.filter((e) => e.type === 'TaskFailed')).toEqual([]);
    expect(readFileSync(journal, 'utf8').trim().split('\n')).toEqual(['slow attempt=1']);
    const departures = (await feed(EXECUTORS_TENANT)).filter(
      (e) => e.type === 'WorkerLeft' && (e.data as { reason: string }).reason === 'shutdown',
    );
    const leavingId = leaving.logs.find((line) => line.msg === 'worker is taking tasks')!.worker_id;
    expect(departures.map((e) => (e.data as { worker_id: string }).worker_id)).toContain(leavingId);
  });
});
