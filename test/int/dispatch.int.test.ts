import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { builtInCatalog } from '../../src/catalog/built-in.js';
import { Catalog } from '../../src/catalog/catalog.js';
import { defineCommand, TaskFailure } from '../../src/catalog/define-command.js';
import type { Tenant } from '../../src/events/tenant.js';
import { startTestNexus, type TestNexus } from '../support/nexus.js';
import type { SseClient } from '../support/sse-client.js';

const tenant: Tenant = { org_id: 'dispatch', project_id: 'p' };
const failuresLeft = new Map<string, number>();

/** Real command types whose handlers fail on purpose, as a user's own handlers might. */
const testCommands = [
  defineCommand({
    type: 'test.flaky',
    risk: 'GREEN',
    description: 'Fails `times` times, then succeeds',
    params: z.object({ key: z.string(), times: z.number().int() }),
    handler: ({ key, times }) => {
      const left = failuresLeft.get(key) ?? times;
      failuresLeft.set(key, left - 1);
      if (left > 0) throw new Error(`flaky failure, ${left} to go`);
      return { ok: true };
    },
  }),
  defineCommand({
    type: 'test.poison',
    risk: 'GREEN',
    description: 'Always fails with a retryable error',
    params: z.object({}),
    handler: () => {
      throw new TaskFailure('UPSTREAM_DOWN', 'always down', true);
    },
  }),
  defineCommand({
    type: 'test.fatal',
    risk: 'GREEN',
    description: 'Fails with an error that retrying cannot fix',
    params: z.object({}),
    handler: () => {
      throw new TaskFailure('BAD_INPUT', 'cannot ever work');
    },
  }),
  defineCommand({
    type: 'test.hang',
    risk: 'GREEN',
    description: 'Never answers until aborted',
    params: z.object({}),
    handler: (_params, { signal }) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
  }),
];

let nexus: TestNexus;
let client: SseClient;
beforeAll(async () => {
  nexus = await startTestNexus(
    { MAX_RETRIES: '2', RETRY_BASE_DELAY_MS: '20', TASK_TIMEOUT_SECONDS: '1', WORKER_CONCURRENCY: '4' },
    { catalog: (deps) => new Catalog([...builtInCatalog(deps).list(), ...testCommands]) },
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

const typesOf = (commandId: string) => client.reports.filter((r) => r.command_id === commandId).map((r) => r.report_type);
const ended = (commandId: string) => () => typesOf(commandId).some((t) => t === 'task_completed' || t === 'task_dead_lettered');

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

  it('dead-letters at once a failure that retrying cannot fix', async () => {
    const id = await submit('test.fatal', {});
    await client.until(ended(id));
    expect(typesOf(id)).toEqual(['command_accepted', 'task_queued', 'task_started', 'task_failed', 'task_dead_lettered']);
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

  it('never runs a RED command: it waits as an ask', async () => {
    const red = await submit('email.send', { to: 'ops@example.com', subject: 'hi', text: 'hello' });
    const after = await submit('echo.test', { barrier: true });
    await client.until(ended(after));
    expect(typesOf(red)).toEqual(['command_accepted', 'ask_created']);
    const snapshot = (await (await nexus.get('/agent/snapshot', tenant)).json()) as { asks: Array<{ command_id: string; risk_level: string }> };
    expect(snapshot.asks).toContainEqual(expect.objectContaining({ command_id: red, risk_level: 'RED' }));
  });

  it('keeps every report of a command under its correlation id', async () => {
    const response = await nexus.command(tenant, { command_type: 'test.flaky', params: { key: 'c', times: 1 }, correlation_id: 'trace-me' });
    const { command_id } = (await response.json()) as { command_id: string };
    await client.until(ended(command_id));
    const mine = client.reports.filter((r) => r.command_id === command_id);
    expect(mine.length).toBeGreaterThan(4);
    expect(mine.every((r) => r.correlation_id === 'trace-me')).toBe(true);
  });
});
