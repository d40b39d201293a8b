import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { shareToken } from '../../src/shares/share-store.js';
import { startTestNexus } from '../support/nexus.js';
import { SseClient } from '../support/sse-client.js';

// A RED command (external_share.prepare) asked about, approved or denied, and run or not, over
// HTTP and SSE: the README's examples request for request (they come from the guide NEXUS grew
// from, its PR-003 to PR-006), against development mode (no NEXUS_API_KEY), whose curl commands
// send `x-api-key: dev-key`.
const headers = {
  'Content-Type': 'application/json',
  'x-org-id': 'default',
  'x-project-id': 'nexus',
  'x-api-key': 'dev-key',
};
// Share links are derived from the share id with this secret (the result carries the id, not the link).
const SESSION_SECRET = 'red-command-session-secret-0123456789abcdef';
const linkOf = (url: string, result: unknown) =>
  `${url}/shares/${shareToken(SESSION_SECRET, (result as { share_id: string }).share_id)}`;

describe('a RED command waits for a person: asked, then run only once approved', () => {
  it('approved: request → ask_created → approve → ask_resolved (approved) → the share runs → its link serves the package until it expires', async () => {
    let clock = Date.now();
    const nexus = await startTestNexus(
      { NEXUS_API_KEY: '', ADMIN_API_KEY: '', SESSION_SECRET },
      { now: () => new Date(clock) },
    );
    try {
      const stream = await nexus.stream({ org_id: 'default', project_id: 'nexus' });

      // 1. request a RED command
      const requested = await fetch(`${nexus.url}/sidecar/command`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          command_type: 'external_share.prepare',
          params: { recipient: 'test@example.com' },
          correlation_id: 'red-test-001',
        }),
      });
      expect(requested.status).toBe(202);
      expect(await requested.json()).toMatchObject({
        status: 'accepted',
        correlation_id: 'red-test-001',
        risk_level: 'RED',
      });

      // 2. ask_created on the stream
      await stream.until((c) => c.reports.some((r) => r.report_type === 'ask_created'));
      const created = stream.reports.find((r) => r.report_type === 'ask_created')!;
      expect(created).toMatchObject({
        correlation_id: 'red-test-001',
        payload: { risk_level: 'RED', payload: { recipient: 'test@example.com' } },
      });
      const ASK_ID = created.payload.ask_id as string;
      expect(ASK_ID).toMatch(/^ask-/);

      // 3. approve
      const decided = await fetch(`${nexus.url}/approvals/${ASK_ID}/decide`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ decision: 'approve', reason: 'Test' }),
      });
      expect(decided.status).toBe(202);
      expect(await decided.json()).toMatchObject({ status: 'accepted', correlation_id: 'red-test-001' });

      // 4. ask_resolved on the stream
      await stream.until((c) => c.reports.some((r) => r.report_type === 'task_completed'));
      const resolved = stream.reports.find((r) => r.report_type === 'ask_resolved')!;
      expect(resolved).toMatchObject({
        report_type: 'ask_resolved',
        correlation_id: 'red-test-001',
        payload: { decision: 'approved', reason: 'Test' },
      });
      const completed = stream.reports.find((r) => r.report_type === 'task_completed')!;
      expect(completed.correlation_id).toBe('red-test-001');
      expect(completed.payload.result).toMatchObject({
        share_id: expect.stringMatching(/^share-/),
        recipient: 'test@example.com',
      });
      expect(completed.payload.result).not.toHaveProperty('share_url');
      const share_url = linkOf(nexus.url, completed.payload.result);

      // the link works without a key, until it expires
      const share = await fetch(share_url);
      expect(share.status).toBe(200);
      expect(await share.json()).toMatchObject({ recipient: 'test@example.com', files: [] });
      clock += 73 * 3_600_000;
      const late = await fetch(share_url);
      expect(late.status).toBe(410);
      expect(await late.json()).toMatchObject({ error: { code: 'share_expired' } });
      stream.close();
    } finally {
      await nexus.stop();
    }
  });

  it('with NEXUS_API_KEY set, that one shared key submits, follows the stream and approves its own request (APPROVAL_FOUR_EYES=named)', async () => {
    const key = 'guide-shared-key-0123456789';
    const nexus = await startTestNexus({ NEXUS_API_KEY: key, SESSION_SECRET });
    try {
      const keyed = { ...headers, 'x-api-key': key };
      const post = (path: string, body: unknown) =>
        fetch(`${nexus.url}${path}`, { method: 'POST', headers: keyed, body: JSON.stringify(body) });
      // the stream, with the key
      const stream = await SseClient.connect(`${nexus.url}/agent/reports/stream`, keyed);
      expect(stream.status).toBe(200);
      // a command, followed by its correlation id
      const echo = await post('/sidecar/command', {
        command_type: 'echo.test',
        params: {},
        correlation_id: 'test-001',
      });
      expect(echo.status).toBe(202);
      await stream.until((c) =>
        c.reports.some((r) => r.correlation_id === 'test-001' && r.report_type === 'task_completed'),
      );
      // a RED command: request, then approve with the same key
      const red = await post('/sidecar/command', {
        command_type: 'external_share.prepare',
        params: { recipient: 'test@example.com' },
        correlation_id: 'red-test-001',
      });
      expect(red.status).toBe(202);
      const { ask_id } = (await red.json()) as { ask_id: string };
      const decided = await post(`/approvals/${ask_id}/decide`, { decision: 'approve', reason: 'Test' });
      expect(decided.status).toBe(202);
      await stream.until((c) =>
        c.reports.some((r) => r.correlation_id === 'red-test-001' && r.report_type === 'task_completed'),
      );
      expect(stream.reports.find((r) => r.report_type === 'ask_resolved')!.payload).toMatchObject({
        decision: 'approved',
        decided_by: 'api-key',
      });
      stream.close();
    } finally {
      await nexus.stop();
    }
  });

  it('denied: ask_resolved (denied), a second decision is refused, and nothing is shared', async () => {
    const nexus = await startTestNexus({ NEXUS_API_KEY: '', ADMIN_API_KEY: '' });
    try {
      const stream = await nexus.stream({ org_id: 'default', project_id: 'nexus' });
      const { ask_id, command_id } = (await (
        await fetch(`${nexus.url}/sidecar/command`, {
          method: 'POST',
          headers,
          body: JSON.stringify({
            command_type: 'external_share.prepare',
            params: { recipient: 'test@example.com' },
            correlation_id: 'red-test-002',
          }),
        })
      ).json()) as { ask_id: string; command_id: string };
      const denied = await fetch(`${nexus.url}/approvals/${ask_id}/decide`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ decision: 'deny', reason: 'No' }),
      });
      expect(denied.status).toBe(202);
      await stream.until((c) => c.reports.some((r) => r.report_type === 'ask_resolved'));
      expect(stream.reports.find((r) => r.report_type === 'ask_resolved')!.payload).toMatchObject({
        decision: 'denied',
      });
      const again = await fetch(`${nexus.url}/approvals/${ask_id}/decide`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ decision: 'approve' }),
      });
      expect(again.status).toBe(409);
      const reports = (await (await fetch(`${nexus.url}/agent/reports`, { headers })).json()) as {
        reports: Array<{ command_id: string; report_type: string }>;
      };
      expect(reports.reports.filter((r) => r.command_id === command_id).map((r) => r.report_type)).toEqual([
        'command_accepted',
        'ask_created',
        'ask_resolved',
      ]);
      stream.close();
    } finally {
      await nexus.stop();
    }
  });
});

describe('an approved external_share.prepare packages what it names', () => {
  it('packages named workspace files, refusing paths out of the workspace', async () => {
    const nexus = await startTestNexus({ NEXUS_API_KEY: '', ADMIN_API_KEY: '', SESSION_SECRET });
    try {
      const workspace = join(nexus.dataDir, 'workspace', 'default', 'nexus');
      mkdirSync(join(workspace, 'reports'), { recursive: true });
      writeFileSync(join(workspace, 'reports', 'q3.csv'), 'quarter,revenue\nq3,42\n');
      const stream = await nexus.stream({ org_id: 'default', project_id: 'nexus' });
      const submit = async (files: string[]) => {
        const answer = (await (
          await fetch(`${nexus.url}/sidecar/command`, {
            method: 'POST',
            headers,
            body: JSON.stringify({
              command_type: 'external_share.prepare',
              params: { recipient: 'cfo@example.com', files },
            }),
          })
        ).json()) as { ask_id: string; command_id: string };
        await fetch(`${nexus.url}/approvals/${answer.ask_id}/decide`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ decision: 'approve' }),
        });
        await stream.until((c) =>
          c.reports.some(
            (r) =>
              r.command_id === answer.command_id && ['task_completed', 'task_dead_lettered'].includes(r.report_type),
          ),
        );
        return stream.reports.filter((r) => r.command_id === answer.command_id).at(-1)!;
      };
      const shared = await submit(['reports/q3.csv']);
      const { files } = shared.payload.result as { files: Array<{ name: string; bytes: number }> };
      expect(files).toEqual([expect.objectContaining({ name: 'q3.csv', bytes: 22 })]);
      const listing = (await (await fetch(linkOf(nexus.url, shared.payload.result))).json()) as {
        files: Array<{ url: string }>;
      };
      expect(await (await fetch(`${nexus.url}${listing.files[0]!.url}`)).text()).toBe('quarter,revenue\nq3,42\n');
      const refused = await fetch(`${nexus.url}/sidecar/command`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          command_type: 'external_share.prepare',
          params: { recipient: 'cfo@example.com', files: ['../../other/secret.txt'] },
        }),
      });
      expect(refused.status).toBe(422);
      expect(await refused.json()).toMatchObject({
        error: { code: 'invalid_params', details: [expect.objectContaining({ path: 'files.0' })] },
      });
      expect((await fetch(`${nexus.url}/shares/${'x'.repeat(43)}`)).status).toBe(404);
      stream.close();
    } finally {
      await nexus.stop();
    }
  });
});
