import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCatalog } from '../support/test-commands.js';
import type { Tenant } from '../../src/events/tenant.js';
import { ADMIN_KEY, startTestNexus, type TestNexus } from '../support/nexus.js';
import type { SseClient } from '../support/sse-client.js';
import { waitUntil } from '../support/wait.js';

const tenant: Tenant = { org_id: 'dispatch', project_id: 'p' };
let nexus: TestNexus;
let client: SseClient;
beforeAll(async () => {
  nexus = await startTestNexus(
    { MAX_RETRIES: '2', RETRY_BASE_DELAY_MS: '20', TASK_TIMEOUT_SECONDS: '1', WORKER_CONCURRENCY: '4' },
    { catalog: testCatalog },
  );
  client = await nexus.stream(tenant, { lastEventId: 0 });
});
afterAll(async () => {
  client.close();
  await nexus.stop();
});

async function submit(command_type: string, params: Record<string, unknown>) {
  const response = await nexus.command(tenant, { command_type, params });
  expect(response.status).toBe(202);
  return ((await response.json()) as { command_id: string }).command_id;
}

const typesOf = (commandId: string) =>
  client.reports.filter((r) => r.command_id === commandId).map((r) => r.report_type);
const ended = (commandId: string) => () =>
  typesOf(commandId).some((t) => t === 'task_completed' || t === 'task_dead_lettered');

describe('embedded dispatch', () => {
  it('retries a failing task with backoff until it succeeds', async () => {
    const id = await submit('test.flaky', { key: 'a', times: 2 });
    await client.until(ended(id));
    expect(typesOf(id)).toEqual([
      'command_accepted',
      'task_queued',
      'task_started',
      'task_failed',
      'task_retrying',
      'task_started',
      'task_failed',
      'task_retrying',
      'task_started',
      'task_completed',
    ]);
    const retrying = client.reports.filter((r) => r.command_id === id && r.report_type === 'task_retrying');
    expect(retrying.map((r) => r.payload.attempt)).toEqual([2, 3]);
    expect(retrying.every((r) => Number(r.payload.delay_ms) >= 10)).toBe(true);
  });

  it('dead-letters a task after MAX_RETRIES retries, and reports it', async () => {
    const id = await submit('test.poison', {});
    await client.until(ended(id));
    expect(typesOf(id).filter((t) => t === 'task_started')).toHaveLength(3);
    const dead = client.reports.find((r) => r.command_id === id && r.report_type === 'task_dead_lettered')!;
    expect(dead.payload).toMatchObject({ attempts: 3, error: { code: 'UPSTREAM_DOWN' } });
  });

  it('triages dead letters by failure code: requeue (bounded), hold, alarm, each reported', async () => {
    const requeued = await submit('test.fail', { code: 'PROVIDER_TIMEOUT' });
    const alarmed = await submit('test.fail', { code: 'PROVIDER_AUTH_ERROR' });
    const kept = await submit('test.fail', { code: 'SOMETHING_ELSE' });
    const triage = (id: string) =>
      client.reports.filter((r) => r.command_id === id && r.report_type === 'dlq_triaged').map((r) => r.payload.action);
    await client.until(
      () => triage(requeued).length === 4 && triage(alarmed).length === 1 && triage(kept).length === 1,
    );
    expect(triage(requeued)).toEqual(['requeue', 'requeue', 'requeue', 'hold']);
    expect(triage(alarmed)).toEqual(['alarm']);
    expect(triage(kept)).toEqual(['keep']);
    expect(typesOf(alarmed)).toContain('alarm_raised');
    const held = (await (await nexus.get('/admin/tasks/dead-letters', tenant, { 'x-api-key': ADMIN_KEY })).json()) as {
      held: Array<{ command_id: string }>;
      kept: Array<{ command_id: string }>;
    };
    expect(held.held.map((t) => t.command_id).sort()).toEqual([requeued, alarmed].sort());
    expect(held.kept.map((t) => t.command_id)).toContain(kept);
  });

  it("reports a handler's progress between task_started and task_completed", async () => {
    const id = await submit('test.progress', {});
    await client.until(ended(id));
    expect(typesOf(id)).toEqual([
      'command_accepted',
      'task_queued',
      'task_started',
      'task_progress',
      'task_progress',
      'task_progress',
      'task_completed',
    ]);
    const progress = client.reports
      .filter((r) => r.command_id === id && r.report_type === 'task_progress')
      .map((r) => r.payload);
    expect(progress).toMatchObject([
      { percent: 10, message: 'started', attempt: 1 },
      { percent: 60, attempt: 1 },
      { percent: 100, message: 'done', attempt: 1 },
    ]);
  });

  it('dead-letters at once a failure that retrying cannot fix', async () => {
    const id = await submit('test.fatal', {});
    await client.until(ended(id));
    expect(typesOf(id)).toEqual([
      'command_accepted',
      'task_queued',
      'task_started',
      'task_failed',
      'task_dead_lettered',
    ]);
  });

  it('fails a task that runs past TASK_TIMEOUT_SECONDS with TASK_TIMEOUT', async () => {
    const id = await submit('test.hang', {});
    await client.until((c) => c.reports.some((r) => r.command_id === id && r.report_type === 'task_failed'));
    const failed = client.reports.find((r) => r.command_id === id && r.report_type === 'task_failed')!;
    expect(failed.payload).toMatchObject({ error: { code: 'TASK_TIMEOUT' }, retryable: true });
  });

  it('runs YELLOW commands after a risk_warning, for real', async () => {
    const workspace = join(nexus.dataDir, 'workspace', tenant.org_id, tenant.project_id);
    mkdirSync(join(workspace, 'reports'), { recursive: true });
    writeFileSync(join(workspace, 'reports', 'old.txt'), 'old');
    const id = await submit('file.delete', { path: 'reports/old.txt' });
    await client.until(ended(id));
    expect(typesOf(id)).toEqual(['command_accepted', 'risk_warning', 'task_queued', 'task_started', 'task_completed']);
    expect(existsSync(join(workspace, 'reports', 'old.txt'))).toBe(false);
  });

  it('keeps file.delete inside the tenant workspace: traversal refused at the door, symlinks out when it runs', async () => {
    const workspace = join(nexus.dataDir, 'workspace', tenant.org_id, tenant.project_id);
    const outside = join(nexus.dataDir, 'outside');
    mkdirSync(join(outside, 'dir'), { recursive: true });
    mkdirSync(workspace, { recursive: true });
    writeFileSync(join(outside, 'secret.txt'), 'keep me');
    writeFileSync(join(outside, 'dir', 'inner.txt'), 'keep me too');
    symlinkSync(join(outside, 'secret.txt'), join(workspace, 'link-to-secret'));
    symlinkSync(join(outside, 'dir'), join(workspace, 'linked-dir'));
    const other = join(nexus.dataDir, 'workspace', 'someone-else', 'p');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'theirs.txt'), 'not yours');

    for (const path of [
      '../../../outside/secret.txt',
      '../../someone-else/p/theirs.txt',
      join(outside, 'secret.txt'),
      '.',
    ]) {
      const response = await nexus.command(tenant, { command_type: 'file.delete', params: { path, recursive: true } });
      expect(response.status, path).toBe(422);
      expect(await response.json()).toMatchObject({ error: { code: 'invalid_params' } });
    }
    const attempts: Array<[string, string]> = [
      ['link-to-secret', 'SYMLINK_ESCAPE'],
      ['linked-dir/inner.txt', 'SYMLINK_ESCAPE'],
    ];
    for (const [path, code] of attempts) {
      const id = await submit('file.delete', { path, recursive: true });
      await client.until(ended(id));
      const dead = client.reports.find((r) => r.command_id === id && r.report_type === 'task_dead_lettered');
      expect(dead?.payload, path).toMatchObject({ error: { code } });
    }
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('keep me');
    expect(readFileSync(join(outside, 'dir', 'inner.txt'), 'utf8')).toBe('keep me too');
    expect(readFileSync(join(other, 'theirs.txt'), 'utf8')).toBe('not yours');
    expect(existsSync(join(workspace, 'link-to-secret'))).toBe(true);
  });

  it('never runs a RED command: it waits as an ask', async () => {
    const red = await submit('email.send', { to: 'ops@example.com', subject: 'hi', text: 'hello' });
    const after = await submit('echo.test', { barrier: true });
    await client.until(ended(after));
    expect(typesOf(red)).toEqual(['command_accepted', 'ask_created']);
    const snapshot = (await (await nexus.get('/agent/snapshot', tenant)).json()) as {
      asks: Array<{ command_id: string; risk_level: string }>;
    };
    expect(snapshot.asks).toContainEqual(expect.objectContaining({ command_id: red, risk_level: 'RED' }));
  });

  it('keeps every report of a command under its correlation id', async () => {
    const response = await nexus.command(tenant, {
      command_type: 'test.flaky',
      params: { key: 'c', times: 1 },
      correlation_id: 'trace-me',
    });
    const { command_id } = (await response.json()) as { command_id: string };
    await client.until(ended(command_id));
    const mine = client.reports.filter((r) => r.command_id === command_id);
    expect(mine.length).toBeGreaterThan(4);
    expect(mine.every((r) => r.correlation_id === 'trace-me')).toBe(true);
  });
});

describe('handlers run once', () => {
  it('invokes each handler exactly once when nothing fails', async () => {
    const file = join(nexus.dataDir, 'invocations.log');
    const ids = await Promise.all(
      Array.from({ length: 60 }, (_, i) => submit('test.record', { file, line: `run-${i}` })),
    );
    await client.until(() => ids.every((id) => ended(id)()));
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(60);
    expect(new Set(lines).size).toBe(60);
  });
});

describe('a handler that ignores its timeout', () => {
  it('keeps its command busy: the retry starts only once the first run has really ended', async () => {
    const own = await startTestNexus({ TASK_TIMEOUT_SECONDS: '1', RETRY_BASE_DELAY_MS: '0' }, { catalog: testCatalog });
    try {
      const file = join(own.dataDir, 'stubborn.log');
      const stream = await own.stream(tenant, { lastEventId: 0 });
      const { command_id } = (await (
        await own.command(tenant, { command_type: 'test.stubborn', params: { file, ms: 1500 } })
      ).json()) as {
        command_id: string;
      };
      await stream.until((c) =>
        c.reports.some((r) => r.command_id === command_id && r.report_type === 'task_completed'),
      );
      const mine = stream.reports.filter((r) => r.command_id === command_id);
      expect(mine.find((r) => r.report_type === 'task_failed')?.payload).toMatchObject({
        error: { code: 'TASK_TIMEOUT' },
      });
      expect(readFileSync(file, 'utf8').trim().split('\n')).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
      stream.close();
    } finally {
      await own.stop();
    }
  });
});

describe('asks', () => {
  it('expire after ASK_TTL_SECONDS with ask_resolved, and the command never runs; the timer survives a restart', async () => {
    const own = await startTestNexus({ ASK_TTL_SECONDS: '1' });
    const red = { command_type: 'email.send', params: { to: 'ops@example.com', subject: 's', text: 't' } };
    const stream = await own.stream(tenant, { lastEventId: 0 });
    const first = (await (await own.command(tenant, red)).json()) as { command_id: string; ask_id: string };
    await stream.until((c) =>
      c.reports.some((r) => r.command_id === first.command_id && r.report_type === 'ask_resolved'),
    );
    const resolved = stream.reports.find((r) => r.command_id === first.command_id && r.report_type === 'ask_resolved')!;
    expect(resolved.payload).toMatchObject({ ask_id: first.ask_id, decision: 'expired' });
    expect(stream.reports.filter((r) => r.command_id === first.command_id).map((r) => r.report_type)).toEqual([
      'command_accepted',
      'ask_created',
      'ask_expiring',
      'ask_resolved',
    ]);
    const snapshot = (await (await own.get('/agent/snapshot', tenant)).json()) as {
      asks: unknown[];
      autopilot: { awaiting_approval: number };
    };
    expect(snapshot.asks).toEqual([]);
    expect(snapshot.autopilot.awaiting_approval).toBe(0);
    stream.close();

    // submitted, then NEXUS stops before the expiry; the next start expires it
    const second = (await (await own.command(tenant, red)).json()) as { command_id: string };
    await own.stop();
    const created = Date.now();
    await waitUntil(() => Date.now() > created + 1100, { what: 'the ask to be overdue' });
    const again = await startTestNexus({ ASK_TTL_SECONDS: '1', NEXUS_DATA_DIR: own.dataDir });
    try {
      const replay = await again.stream(tenant, { lastEventId: 0 });
      await replay.until((c) =>
        c.reports.some((r) => r.command_id === second.command_id && r.report_type === 'ask_resolved'),
      );
      replay.close();
    } finally {
      await again.stop();
    }
  });
});

describe('shutdown with a task running', () => {
  it('aborts the handler, records SHUTDOWN and a retry, and the next start completes it', async () => {
    const own = await startTestNexus({ SHUTDOWN_TIMEOUT_SECONDS: '0.1' }, { catalog: testCatalog });
    const file = join(own.dataDir, 'runs.log');
    const stream = await own.stream(tenant, { lastEventId: 0 });
    const { command_id } = (await (
      await own.command(tenant, { command_type: 'test.record', params: { file, line: 'slow', ms: 60_000 } })
    ).json()) as {
      command_id: string;
    };
    await stream.until((c) => c.reports.some((r) => r.command_id === command_id && r.report_type === 'task_started'));
    await own.stop();

    const again = await startTestNexus(
      { RETRY_BASE_DELAY_MS: '0', NEXUS_DATA_DIR: own.dataDir },
      { catalog: testCatalog },
    );
    try {
      const replay = await again.stream(tenant, { lastEventId: 0 });
      await replay.until((c) =>
        c.reports.some((r) => r.command_id === command_id && r.report_type === 'task_completed'),
      );
      replay.close();
      const mine = replay.reports.filter((r) => r.command_id === command_id);
      expect(mine.map((r) => r.report_type)).toEqual([
        'command_accepted',
        'task_queued',
        'task_started',
        'task_failed',
        'task_retrying',
        'task_started',
        'task_completed',
      ]);
      expect(mine[3]!.payload).toMatchObject({ error: { code: 'SHUTDOWN' }, retryable: true });
      expect(readFileSync(file, 'utf8').trim().split('\n')).toEqual(['slow attempt=1', 'slow attempt=2']);
    } finally {
      await again.stop();
    }
  });
});
