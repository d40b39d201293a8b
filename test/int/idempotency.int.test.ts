import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/events/tenant.js';
import { startTestNexus, type TestNexus } from '../support/nexus.js';

let nexus: TestNexus;
beforeAll(async () => {
  nexus = await startTestNexus();
});
afterAll(() => nexus.stop());

async function reportsOf(tenant: Tenant) {
  const page = (await (await nexus.get('/agent/reports?limit=1000', tenant)).json()) as {
    reports: Array<{ report_type: string; command_id: string }>;
  };
  return page.reports;
}

describe('Idempotency-Key', () => {
  it('turns 20 parallel duplicates into one command, all answered with the same 202', async () => {
    const tenant = { org_id: 'idem', project_id: 'parallel' };
    const body = { command_type: 'echo.test', params: { n: 1 } };
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => nexus.command(tenant, body, { 'idempotency-key': 'order-42' })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(202));
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as Array<Record<string, string>>;
    expect(new Set(bodies.map((b) => b.command_id)).size).toBe(1);
    expect(new Set(bodies.map((b) => b.correlation_id)).size).toBe(1);
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(19);

    const watcher = await nexus.stream(tenant, { lastEventId: 0 });
    await watcher.until((c) => c.reports.some((r) => r.report_type === 'task_completed'));
    watcher.close();
    const reports = await reportsOf(tenant);
    expect(reports.filter((r) => r.report_type === 'command_accepted')).toHaveLength(1);
    expect(reports.filter((r) => r.report_type === 'task_completed')).toHaveLength(1);
  });

  it('answers a later replay of the same key and body with the original 202', async () => {
    const tenant = { org_id: 'idem', project_id: 'later' };
    const body = { command_type: 'echo.test', params: { n: 2 } };
    const first = (await (await nexus.command(tenant, body, { 'idempotency-key': 'k-1' })).json()) as Record<
      string,
      string
    >;
    const again = await nexus.command(tenant, body, { 'idempotency-key': 'k-1' });
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual(first);
  });

  it('refuses the same key with another body with 422, creating nothing', async () => {
    const tenant = { org_id: 'idem', project_id: 'conflict' };
    await nexus.command(tenant, { command_type: 'echo.test', params: { n: 1 } }, { 'idempotency-key': 'k-2' });
    const other = await nexus.command(
      tenant,
      { command_type: 'echo.test', params: { n: 2 } },
      { 'idempotency-key': 'k-2' },
    );
    expect(other.status).toBe(422);
    expect(await other.json()).toMatchObject({ error: { code: 'idempotency_key_reused' } });
    expect((await reportsOf(tenant)).filter((r) => r.report_type === 'command_accepted')).toHaveLength(1);
  });

  it('scopes keys to the tenant', async () => {
    const body = { command_type: 'echo.test', params: { n: 3 } };
    const a = (await (
      await nexus.command({ org_id: 'idem-a', project_id: 'p' }, body, { 'idempotency-key': 'shared' })
    ).json()) as Record<string, string>;
    const b = await nexus.command(
      { org_id: 'idem-b', project_id: 'p' },
      { ...body, params: { other: true } },
      { 'idempotency-key': 'shared' },
    );
    expect(b.status).toBe(202);
    expect(((await b.json()) as Record<string, string>).command_id).not.toBe(a.command_id);
  });
});
