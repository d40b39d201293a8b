import { describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/events/tenant.js';
import { ADMIN_KEY, startTestNexus, type TestNexus } from '../support/nexus.js';
import { testCatalog } from '../support/test-commands.js';
import { waitUntil } from '../support/wait.js';

const acme: Tenant = { org_id: 'caps', project_id: 'acme' };
const other: Tenant = { org_id: 'caps', project_id: 'other' };

const red = (nexus: TestNexus, tenant: Tenant, note: string) =>
  nexus.command(tenant, {
    command_type: 'external_share.prepare',
    params: { recipient: 'a@example.com', message: note },
  });

async function errorOf(response: Response) {
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as { error: { code: string; message: string } },
  };
}

describe('per-tenant caps', () => {
  it('waiting asks: past TENANT_MAX_PENDING_ASKS or TENANT_MAX_ASK_BYTES a RED command gets 429; other tenants and decided asks make room', async () => {
    const nexus = await startTestNexus({ TENANT_MAX_PENDING_ASKS: '2', TENANT_MAX_ASK_BYTES: '4096' });
    try {
      const first = (await (await red(nexus, acme, 'one')).json()) as { ask_id: string };
      expect((await red(nexus, acme, 'two')).status).toBe(202);
      const refused = await errorOf(await red(nexus, acme, 'three'));
      expect(refused).toMatchObject({ status: 429, retryAfter: '60', body: { error: { code: 'tenant_cap_reached' } } });
      expect(refused.body.error.message).toContain('TENANT_MAX_PENDING_ASKS');
      // GREEN commands and other tenants are not held back.
      expect((await nexus.command(acme, { command_type: 'echo.test', params: {} })).status).toBe(202);
      expect((await red(nexus, other, 'elsewhere')).status).toBe(202);
      // A bigger payload than the bytes left.
      const big = await errorOf(await red(nexus, other, 'x'.repeat(4000)));
      expect(big.body.error.message).toContain('TENANT_MAX_ASK_BYTES');
      // A decision makes room (once the dispatcher has followed it).
      const denied = await fetch(`${nexus.url}/approvals/${first.ask_id}/decide`, {
        method: 'POST',
        headers: { ...nexus.headers(acme, { 'x-api-key': ADMIN_KEY }), 'content-type': 'application/json' },
        body: JSON.stringify({ decision: 'deny' }),
      });
      expect(denied.status).toBe(202);
      const stream = await nexus.stream(acme, { lastEventId: 0 });
      await stream.until((c) => c.reports.some((r) => r.report_type === 'ask_resolved'));
      stream.close();
      // Accepted as soon as the dispatcher has followed the decision (a 429 records nothing).
      await waitUntil(async () => (await red(nexus, acme, 'three again')).status === 202, {
        what: 'the decision to make room',
      });
    } finally {
      await nexus.stop();
    }
  });

  it('memory: a memory.set past TENANT_MAX_MEMORY_KEYS or _BYTES gets 429; a handler writing past them fails MEMORY_FULL', async () => {
    const nexus = await startTestNexus(
      { TENANT_MAX_MEMORY_KEYS: '1', TENANT_MAX_MEMORY_BYTES: '2048', MAX_RETRIES: '0' },
      { catalog: testCatalog },
    );
    try {
      const stream = await nexus.stream(acme, { lastEventId: 0 });
      const set = (key: string, value: unknown) =>
        nexus.command(acme, { command_type: 'memory.set', params: { key, value } });
      const a = (await (await set('a', 'first')).json()) as { command_id: string };
      await stream.until((c) =>
        c.reports.some((r) => r.command_id === a.command_id && r.report_type === 'task_completed'),
      );
      // Replacing a key is fine; a new key is one too many; a value too large is refused.
      expect((await set('a', 'second')).status).toBe(202);
      expect(await errorOf(await set('b', 'new'))).toMatchObject({
        status: 429,
        body: { error: { code: 'tenant_cap_reached', message: expect.stringContaining('TENANT_MAX_MEMORY_KEYS') } },
      });
      expect((await errorOf(await set('a', 'x'.repeat(3000)))).body.error.message).toContain('TENANT_MAX_MEMORY_BYTES');
      // An agent's own write, past the cap, fails for good with MEMORY_FULL.
      const agent = (await (
        await nexus.command(acme, { command_type: 'test.remember', params: { key: 'b', value: 1 } })
      ).json()) as { command_id: string };
      await stream.until((c) =>
        c.reports.some((r) => r.command_id === agent.command_id && r.report_type === 'task_dead_lettered'),
      );
      expect(
        stream.reports.find((r) => r.command_id === agent.command_id && r.report_type === 'task_failed')!.payload,
      ).toMatchObject({ error: { code: 'MEMORY_FULL' } });
      stream.close();
    } finally {
      await nexus.stop();
    }
  });
});
