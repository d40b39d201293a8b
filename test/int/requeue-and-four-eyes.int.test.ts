import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/events/tenant.js';
import { ADMIN_KEY, API_KEY, startTestNexus, type TestNexus } from '../support/nexus.js';
import type { SseClient } from '../support/sse-client.js';
import { testCatalog } from '../support/test-commands.js';

const tenant: Tenant = { org_id: 'ops', project_id: 'requeue' };
const scratch = () => mkdtempSync(join(tmpdir(), 'nexus-requeue-'));

async function post(nexus: TestNexus, path: string, body: unknown, key = API_KEY): Promise<Response> {
  return fetch(`${nexus.url}${path}`, {
    method: 'POST',
    headers: { ...nexus.headers(tenant, { 'x-api-key': key }), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

const reportOf = (stream: SseClient, commandId: string, type: string) => () =>
  stream.reports.some((r) => r.command_id === commandId && r.report_type === type);

async function submit(
  nexus: TestNexus,
  body: unknown,
  key = API_KEY,
): Promise<{ command_id: string; ask_id?: string; correlation_id: string }> {
  const response = await post(nexus, '/sidecar/command', body, key);
  expect(response.status).toBe(202);
  return (await response.json()) as { command_id: string; ask_id?: string; correlation_id: string };
}

describe('requeueing a dead letter kept by triage', () => {
  it('runs it, even across a restart, and every event of the command keeps its correlation id', async () => {
    const nexus = await startTestNexus({ MAX_RETRIES: '1' }, { catalog: testCatalog });
    let again: TestNexus | undefined;
    try {
      const stream = await nexus.stream(tenant, { lastEventId: 0 });
      // Fails twice (HANDLER_ERROR, no triage rule): dead-lettered and kept.
      const flaky = await submit(nexus, {
        command_type: 'test.flaky',
        params: { key: `k-${Date.now()}`, times: 2 },
        correlation_id: 'flaky-1',
      });
      await stream.until((c) =>
        c.reports.some((r) => r.command_id === flaky.command_id && r.report_type === 'dlq_triaged'),
      );
      expect(
        stream.reports.find((r) => r.command_id === flaky.command_id && r.report_type === 'dlq_triaged')!.payload,
      ).toMatchObject({ action: 'keep' });

      // Paused, the requeue is recorded but cannot run before the restart.
      expect((await post(nexus, '/agent/autopilot', { action: 'pause' }, ADMIN_KEY)).status).toBe(202);
      const requeued = await post(
        nexus,
        `/admin/tasks/${flaky.command_id}/requeue`,
        { reason: 'fixed upstream' },
        ADMIN_KEY,
      );
      expect(requeued.status).toBe(202);
      expect(await requeued.json()).toMatchObject({ correlation_id: 'flaky-1', action: 'requeue' });
      await stream.until(reportOf(stream, flaky.command_id, 'task_requeued'));
      stream.close();
      await nexus.stop();

      again = await startTestNexus({ MAX_RETRIES: '1', NEXUS_DATA_DIR: nexus.dataDir }, { catalog: testCatalog });
      const replay = await again.stream(tenant, { lastEventId: 0 });
      expect((await post(again, '/agent/autopilot', { action: 'resume' }, ADMIN_KEY)).status).toBe(202);
      await replay.until(reportOf(replay, flaky.command_id, 'task_completed'));
      const mine = replay.reports.filter((r) => r.command_id === flaky.command_id);
      expect(new Set(mine.map((r) => r.correlation_id))).toEqual(new Set(['flaky-1']));
      expect(mine.find((r) => r.report_type === 'task_completed')).toBeDefined();
      const snapshot = (await (await again.get('/agent/snapshot', tenant)).json()) as {
        autopilot: { queued: number; running: number };
        dead_letters: unknown[];
      };
      expect(snapshot.autopilot).toMatchObject({ queued: 0, running: 0 });
      expect(snapshot.dead_letters).toEqual([]);
      replay.close();
    } finally {
      await (again ?? nexus).stop();
    }
  });
});

describe('contract 3 at run time', () => {
  it('hashes the params the handler would receive: a schema that changes them on parsing refuses to run the approved payload', async () => {
    const nexus = await startTestNexus({}, { catalog: testCatalog });
    try {
      const file = join(scratch(), 'paid.log');
      const stream = await nexus.stream(tenant, { lastEventId: 0 });
      const red = await submit(nexus, { command_type: 'test.red-doubling', params: { amount: 10, file } });
      expect((await post(nexus, `/approvals/${red.ask_id}/decide`, { decision: 'approve' }, ADMIN_KEY)).status).toBe(
        202,
      );
      await stream.until(reportOf(stream, red.command_id, 'task_dead_lettered'));
      const dead = stream.reports.find(
        (r) => r.command_id === red.command_id && r.report_type === 'task_dead_lettered',
      )!;
      expect(dead.payload).toMatchObject({ error: { code: 'PAYLOAD_HASH_MISMATCH' } });
      expect(existsSync(file)).toBe(false);
      stream.close();
    } finally {
      await nexus.stop();
    }
  });
});

describe('a RED command requeued after its approval', () => {
  it('by its requester it is asked about again; by another admin, while the approval holds, it runs again', async () => {
    const alice = 'alice-admin-key-0123456789';
    const principals = [
      { id: 'alice', key_sha256: createHash('sha256').update(alice).digest('hex'), roles: ['admin'], tenants: ['*/*'] },
    ];
    const nexus = await startTestNexus(
      { MAX_RETRIES: '0', NEXUS_PRINCIPALS: JSON.stringify(principals) },
      { catalog: testCatalog },
    );
    try {
      const file = join(scratch(), 'red.log');
      const stream = await nexus.stream(tenant, { lastEventId: 0 });
      // Requested by the admin, approved with the client key: fails for good, dead-lettered and kept.
      const red = await submit(
        nexus,
        { command_type: 'test.red-flaky', params: { key: `r-${Date.now()}`, times: 2, file } },
        ADMIN_KEY,
      );
      expect((await post(nexus, `/approvals/${red.ask_id}/decide`, { decision: 'approve' })).status).toBe(202);
      await stream.until(reportOf(stream, red.command_id, 'dlq_triaged'));

      // The requester (a named principal under APPROVAL_FOUR_EYES=named) requeues it: a new ask.
      const byRequester = await post(nexus, `/admin/tasks/${red.command_id}/requeue`, {}, ADMIN_KEY);
      expect(byRequester.status).toBe(202);
      const { ask_id } = (await byRequester.json()) as { ask_id: string };
      expect(ask_id).toBe(`${red.ask_id}~2`);
      await stream.until(() =>
        stream.reports.some((r) => r.report_type === 'ask_created' && r.payload.ask_id === ask_id),
      );
      const snapshot = (await (await nexus.get('/agent/snapshot', tenant)).json()) as {
        asks: Array<{ ask_id: string; payload: unknown }>;
      };
      expect(snapshot.asks).toEqual([
        expect.objectContaining({ ask_id, payload: expect.objectContaining({ times: 2, file }) }),
      ]);
      expect(
        stream.reports.some(
          (r) => r.command_id === red.command_id && r.report_type === 'task_started' && r.payload.attempt === 2,
        ),
      ).toBe(false);

      // Approved again by someone else: the next attempt runs (and, failing again, is kept).
      expect((await post(nexus, `/approvals/${ask_id}/decide`, { decision: 'approve' })).status).toBe(202);
      await stream.until(
        () =>
          stream.reports.filter((r) => r.command_id === red.command_id && r.report_type === 'dlq_triaged').length === 2,
      );

      // Alice, an admin who did not request it, while that approval holds: one more attempt at once.
      const byAlice = await post(nexus, `/admin/tasks/${red.command_id}/requeue`, {}, alice);
      expect(byAlice.status).toBe(202);
      expect(await byAlice.json()).not.toHaveProperty('ask_id');
      await stream.until(reportOf(stream, red.command_id, 'task_completed'));
      expect(readFileSync(file, 'utf8')).toBe(`${red.command_id} attempt=3\n`);
      stream.close();
    } finally {
      await nexus.stop();
    }
  });
});

describe('APPROVAL_FOUR_EYES with NEXUS_API_KEY set', () => {
  const requestAndDecide = async (env: Record<string, string>, deciderKey = API_KEY) => {
    const nexus = await startTestNexus(env);
    try {
      const red = await submit(nexus, {
        command_type: 'external_share.prepare',
        params: { recipient: 'test@example.com' },
        correlation_id: `fe-${Date.now()}`,
      });
      const decided = await post(
        nexus,
        `/approvals/${red.ask_id}/decide`,
        { decision: 'approve', reason: 'Test' },
        deciderKey,
      );
      const audit = (await (await nexus.get('/audit/approvals', tenant)).json()) as {
        approvals: Array<{ status: string; four_eyes?: string; decided_by?: string }>;
      };
      return {
        status: decided.status,
        body: (await decided.json()) as { error?: { code: string } },
        audit: audit.approvals,
      };
    } finally {
      await nexus.stop();
    }
  };

  it("named (the default): the guide's flow works with one shared key, and the audit says which rule held", async () => {
    const { status, audit } = await requestAndDecide({});
    expect(status).toBe(202);
    expect(audit).toEqual([expect.objectContaining({ status: 'approved', decided_by: 'api-key', four_eyes: 'named' })]);
  });

  it('always: not even the shared key decides its own request', async () => {
    const { status, body } = await requestAndDecide({ APPROVAL_FOUR_EYES: 'always' });
    expect(status).toBe(403);
    expect(body.error?.code).toBe('self_approval');
  });
});
