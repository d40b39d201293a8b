import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/events/tenant.js';
import { startTestNexus, type TestNexus } from '../support/nexus.js';
import type { SseClient } from '../support/sse-client.js';
import { testCatalog } from '../support/test-commands.js';

const acme: Tenant = { org_id: 'acme', project_id: 'web' };
const globex: Tenant = { org_id: 'globex', project_id: 'web' };
const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const keys = {
  alice: 'alice-key-0123456789',
  bob: 'bob-key-0123456789',
  carol: 'carol-key-0123456789',
  eve: 'eve-key-0123456789',
};
const principals = [
  { id: 'alice', key_sha256: sha(keys.alice), roles: ['requester'], tenants: ['acme/*'] },
  { id: 'bob', key_sha256: sha(keys.bob), roles: ['approver'], tenants: ['acme/*'] },
  { id: 'carol', key_sha256: sha(keys.carol), roles: ['requester', 'approver'], tenants: ['acme/web'] },
  { id: 'eve', key_sha256: sha(keys.eve), roles: ['requester', 'approver'], tenants: ['globex/*'] },
];

let nexus: TestNexus;
let stream: SseClient;
let file: string;
beforeAll(async () => {
  nexus = await startTestNexus(
    { NEXUS_PRINCIPALS: JSON.stringify(principals), ASK_TTL_SECONDS: '3600' },
    { catalog: testCatalog },
  );
  file = join(nexus.dataDir, 'red-runs.log');
  stream = await nexus.stream(acme, { lastEventId: 0 });
});
afterAll(async () => {
  stream.close();
  await nexus.stop();
});

const as = (who: keyof typeof keys) => ({ 'x-api-key': keys[who] });

async function requestRed(tenant: Tenant, who: keyof typeof keys, note: string) {
  const response = await nexus.command(
    tenant,
    { command_type: 'test.red', params: { file, note }, correlation_id: `red-${note}` },
    as(who),
  );
  expect(response.status).toBe(202);
  return (await response.json()) as { ask_id: string; command_id: string; correlation_id: string };
}

const decide = (tenant: Tenant, askId: string, body: unknown, headers: Record<string, string>) =>
  fetch(`${nexus.url}/approvals/${askId}/decide`, {
    method: 'POST',
    headers: { ...nexus.headers(tenant, headers), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

async function errorCode(response: Response): Promise<[number, string]> {
  return [response.status, ((await response.json()) as { error: { code: string } }).error.code];
}

const runsOf = (commandId: string) => {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith(commandId));
  } catch {
    return [];
  }
};

describe('POST /approvals/{ask_id}/decide', () => {
  it('approve: 202, ask_resolved (approved, by whom), then the task runs once under the same correlation id', async () => {
    const red = await requestRed(acme, 'alice', 'approve-me');
    const response = await decide(acme, red.ask_id, { decision: 'approve', reason: 'looks right' }, as('bob'));
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({
      status: 'accepted',
      correlation_id: 'red-approve-me',
      ask_id: red.ask_id,
      command_id: red.command_id,
      decision: 'approve',
    });
    await stream.until((c) =>
      c.reports.some((r) => r.command_id === red.command_id && r.report_type === 'task_completed'),
    );
    const mine = stream.reports.filter((r) => r.command_id === red.command_id);
    expect(mine.map((r) => r.report_type)).toEqual([
      'command_accepted',
      'ask_created',
      'ask_resolved',
      'task_queued',
      'task_started',
      'task_completed',
    ]);
    expect(mine.every((r) => r.correlation_id === 'red-approve-me')).toBe(true);
    expect(mine[2]!.payload).toMatchObject({
      decision: 'approved',
      decided_by: 'bob',
      reason: 'looks right',
      ask_id: red.ask_id,
    });
    expect(runsOf(red.command_id)).toEqual([`${red.command_id} approve-me attempt=1`]);
  });

  it('deny: ask_resolved (denied) and the command never runs', async () => {
    const red = await requestRed(acme, 'alice', 'deny-me');
    expect((await decide(acme, red.ask_id, { decision: 'deny', reason: 'no' }, as('bob'))).status).toBe(202);
    const later = await requestRed(acme, 'alice', 'barrier');
    await decide(acme, later.ask_id, { decision: 'approve' }, as('bob'));
    await stream.until((c) =>
      c.reports.some((r) => r.command_id === later.command_id && r.report_type === 'task_completed'),
    );
    const mine = stream.reports.filter((r) => r.command_id === red.command_id);
    expect(mine.map((r) => r.report_type)).toEqual(['command_accepted', 'ask_created', 'ask_resolved']);
    expect(mine[2]!.payload).toMatchObject({ decision: 'denied', decided_by: 'bob' });
    expect(runsOf(red.command_id)).toEqual([]);
  });

  it('409 once decided: exactly one of many concurrent decisions wins', async () => {
    const red = await requestRed(acme, 'alice', 'race');
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        decide(acme, red.ask_id, { decision: i % 2 ? 'deny' : 'approve' }, as(i % 3 ? 'bob' : 'carol')),
      ),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(11);
    const [status, code] = await errorCode(await decide(acme, red.ask_id, { decision: 'approve' }, as('bob')));
    expect(status).toBe(409);
    expect(code).toMatch(/^ask_(approved|denied)$/);
    await stream.until(
      (c) => c.reports.filter((r) => r.command_id === red.command_id && r.report_type === 'ask_resolved').length === 1,
    );
    const resolved = stream.reports.filter((r) => r.command_id === red.command_id && r.report_type === 'ask_resolved');
    expect(resolved).toHaveLength(1);
  });

  it('409 for an expired ask', async () => {
    const short = await startTestNexus(
      { NEXUS_PRINCIPALS: JSON.stringify(principals), ASK_TTL_SECONDS: '1' },
      { catalog: testCatalog },
    );
    try {
      const response = await short.command(
        acme,
        { command_type: 'test.red', params: { file, note: 'late' } },
        as('alice'),
      );
      const red = (await response.json()) as { ask_id: string; command_id: string };
      const watch = await short.stream(acme, { lastEventId: 0 });
      await watch.until((c) =>
        c.reports.some((r) => r.command_id === red.command_id && r.report_type === 'ask_resolved'),
      );
      watch.close();
      const late = await fetch(`${short.url}/approvals/${red.ask_id}/decide`, {
        method: 'POST',
        headers: { ...short.headers(acme, as('bob')), 'content-type': 'application/json' },
        body: JSON.stringify({ decision: 'approve' }),
      });
      expect(await errorCode(late)).toEqual([409, 'ask_expired']);
    } finally {
      await short.stop();
    }
  });
});

describe('GET /approvals', () => {
  it('lists the pending asks of the tenant, filterable', async () => {
    const red = await requestRed(acme, 'alice', 'pending');
    const list = (await (await nexus.get('/approvals', acme, as('bob'))).json()) as {
      asks: Array<{ ask_id: string; requested_by: string; payload: unknown }>;
    };
    expect(list.asks.map((a) => a.ask_id)).toContain(red.ask_id);
    expect(list.asks.find((a) => a.ask_id === red.ask_id)).toMatchObject({
      requested_by: 'alice',
      payload: { file, note: 'pending' },
    });
    const none = (await (await nexus.get('/approvals?requested_by=nobody', acme, as('bob'))).json()) as {
      asks: unknown[];
    };
    expect(none.asks).toEqual([]);
    const other = (await (await nexus.get('/approvals', globex, as('eve'))).json()) as { asks: unknown[] };
    expect(other.asks).toEqual([]);
  });
});

describe('GET /audit/approvals and /audit/verify', () => {
  it('gives every RED ask with its whole chain, as JSON pages and as an NDJSON export', async () => {
    const approved = await requestRed(acme, 'alice', 'audit-approved');
    const denied = await requestRed(acme, 'alice', 'audit-denied');
    await decide(acme, approved.ask_id, { decision: 'approve', reason: 'fine' }, as('bob'));
    await decide(acme, denied.ask_id, { decision: 'deny', reason: 'not today' }, as('bob'));
    await stream.until((c) =>
      c.reports.some((r) => r.command_id === approved.command_id && r.report_type === 'task_completed'),
    );

    const all: Array<Record<string, unknown>> = [];
    for (let after = 0; ;) {
      const page = (await (await nexus.get(`/audit/approvals?after=${after}&limit=3`, acme, as('bob'))).json()) as {
        approvals: Array<Record<string, unknown>>;
        next_after: number;
        has_more: boolean;
      };
      all.push(...page.approvals);
      after = page.next_after;
      if (!page.has_more) break;
    }
    const byCommand = (id: string) => all.find((r) => r.command_id === id)!;
    expect(byCommand(approved.command_id)).toMatchObject({
      status: 'approved',
      requested_by: 'alice',
      decided_by: 'bob',
      reason: 'fine',
      correlation_id: 'red-audit-approved',
      payload: { file, note: 'audit-approved' },
      run: { status: 'succeeded', attempts: 1, result: { note: 'audit-approved' } },
    });
    expect(byCommand(denied.command_id)).toMatchObject({ status: 'denied', decided_by: 'bob', reason: 'not today' });
    expect(byCommand(denied.command_id).run).toBeUndefined();
    expect(all.every((record) => Array.isArray(record.positions) && (record.positions as number[]).length >= 2)).toBe(
      true,
    );

    const exported = await nexus.get('/audit/approvals?format=ndjson', acme, as('bob'));
    expect(exported.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = (await exported.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual(all);

    const otherTenant = (await (await nexus.get('/audit/approvals', globex, as('eve'))).json()) as {
      approvals: unknown[];
    };
    expect(otherTenant.approvals).toEqual([]);
  });

  it('verifies the hash chain, and finds an event edited in the file', async () => {
    const own = await startTestNexus({ NEXUS_PRINCIPALS: JSON.stringify(principals) }, { catalog: testCatalog });
    for (let i = 0; i < 5; i++) await own.command(acme, { command_type: 'echo.test', params: { i } }, as('alice'));
    const sound = (await (await own.get('/audit/verify', acme, as('alice'))).json()) as {
      ok: boolean;
      events: number;
      head: { position: number };
    };
    expect(sound).toMatchObject({ ok: true });
    expect(sound.events).toBeGreaterThanOrEqual(10);
    await own.stop();

    const db = new Database(join(own.dataDir, 'nexus.db'));
    db.prepare(
      `UPDATE events SET data = replace(data, '"i":2', '"i":7') WHERE type = 'CommandAccepted' AND data LIKE '%"i":2%'`,
    ).run();
    db.close();

    const again = await startTestNexus(
      { NEXUS_PRINCIPALS: JSON.stringify(principals), NEXUS_DATA_DIR: own.dataDir },
      { catalog: testCatalog },
    );
    try {
      const verdict = (await (await again.get('/audit/verify', acme, as('alice'))).json()) as {
        ok: boolean;
        broken_at: number;
      };
      expect(verdict.ok).toBe(false);
      expect(verdict.broken_at).toBeGreaterThan(0);
    } finally {
      await again.stop();
    }
  });
});
