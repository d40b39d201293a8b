import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/events/tenant.js';
import type { AppEnv } from '../../src/http/app-env.js';
import { errorHandler } from '../../src/http/errors.js';
import { shareLinkRoutes } from '../../src/http/routes/share-links.js';
import { shareRoutes } from '../../src/http/routes/shares.js';
import { createLogger } from '../../src/observability/logger.js';
import { ShareStore, shareToken } from '../../src/shares/share-store.js';
import { ADMIN_KEY, startTestNexus, type TestNexus } from '../support/nexus.js';
import { waitUntil } from '../support/wait.js';

// A share token is a credential: derived from the share's id with the secret, recorded nowhere.
// The tenant's keys get the link from GET /agent/shares/{command_id}.

const SECRET = 'share-links-test-secret-0123456789-abcdef';
const HOUR = 3_600_000;
const acme: Tenant = { org_id: 'acme', project_id: 'web' };
const globex: Tenant = { org_id: 'globex', project_id: 'web' };

/** Every file under `dir`, as text. */
const everything = (dir: string): string =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => readFileSync(join(entry.parentPath, entry.name), 'utf8'))
    .join('\n');

describe('ShareStore', () => {
  let base: string;
  let shares: ShareStore;
  let clock = Date.parse('2030-01-01T00:00:00Z');

  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'nexus-links-'));
    writeFileSync(join(base, 'q3.csv'), 'quarter,revenue\nq3,42\n');
    shares = new ShareStore(join(base, 'outbox'), {
      secret: SECRET,
      limits: { maxBytesPerTenant: 1 << 20, retentionMs: 24 * HOUR },
    });
  });

  async function share(tenant: Tenant, command_id: string) {
    const handle = await open(join(base, 'q3.csv'), 'r');
    try {
      return await shares.create({
        recipient: 'cfo@example.com',
        message: 'Q3 numbers',
        files: [{ name: 'q3.csv', handle, bytes: 22 }],
        created_at: new Date(clock).toISOString(),
        expires_at: new Date(clock + HOUR).toISOString(),
        tenant,
        command_id,
      });
    } finally {
      await handle.close();
    }
  }

  function app() {
    const now = () => new Date(clock);
    const hono = new Hono<AppEnv>();
    hono.onError(errorHandler(createLogger({ level: 'silent' })));
    hono.use('/agent/*', async (c, next) => {
      c.set('tenant', { org_id: c.req.header('x-org-id') ?? '', project_id: c.req.header('x-project-id') ?? '' });
      await next();
    });
    hono.route('/agent', shareLinkRoutes({ shares, now, publicUrl: () => 'http://127.0.0.1:8000' }));
    hono.route('/shares', shareRoutes({ shares, now }));
    return hono;
  }
  const asTenant = (tenant: Tenant) => ({ headers: { 'x-org-id': tenant.org_id, 'x-project-id': tenant.project_id } });

  it('derives the token from the share id with the secret, and stores it nowhere', async () => {
    const manifest = await share(acme, 'cmd-1');
    expect(manifest.share_id).toMatch(/^share-/);
    const token = shareToken(SECRET, manifest.share_id);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(shares.token(manifest.share_id)).toBe(token);
    expect(await shares.open(token)).toEqual(manifest);
    expect(await shares.forCommand(acme, 'cmd-1')).toEqual({ manifest, token });
    expect(everything(join(base, 'outbox'))).not.toContain(token);
    expect(await shares.open(shareToken('another-secret-0123456789-0123456789', manifest.share_id))).toBeUndefined();
  });

  it('answers the same share when the same command runs again', async () => {
    const first = await share(acme, 'cmd-again');
    const second = await share(acme, 'cmd-again');
    expect(second).toEqual(first);
  });

  it('gives the link to the tenant that made the share, and to no other', async () => {
    await share(acme, 'cmd-2');
    const { token } = (await shares.forCommand(acme, 'cmd-2'))!;
    const response = await app().request('/agent/shares/cmd-2', asTenant(acme));
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({
      share_url: `http://127.0.0.1:8000/shares/${token}`,
      expires_at: new Date(clock + HOUR).toISOString(),
      recipient: 'cfo@example.com',
      files: [expect.objectContaining({ name: 'q3.csv', bytes: 22 })],
    });
    const other = await app().request('/agent/shares/cmd-2', asTenant(globex));
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ error: { code: 'share_not_found' } });
    expect((await app().request('/agent/shares/cmd-none', asTenant(acme))).status).toBe(404);
    expect((await app().request('/agent/shares/..%2F..%2Fetc', asTenant(acme))).status).toBe(404);
  });

  it('builds the link on the public address it is given, never on the Host the request names', async () => {
    await share(acme, 'cmd-3');
    const hono = new Hono<AppEnv>();
    hono.use('*', async (c, next) => {
      c.set('tenant', acme);
      await next();
    });
    hono.route(
      '/agent',
      shareLinkRoutes({ shares, now: () => new Date(clock), publicUrl: () => 'https://nexus.example.com' }),
    );
    const { share_url } = (await (
      await hono.request('http://evil.example/agent/shares/cmd-3', { headers: { host: 'evil.example' } })
    ).json()) as { share_url: string };
    expect(share_url).toBe(`https://nexus.example.com/shares/${(await shares.forCommand(acme, 'cmd-3'))!.token}`);
  });

  it('serves the share at /shares/{token} without a key, and 410 once expired on both routes', async () => {
    await share(acme, 'cmd-4');
    const { share_url } = (await (await app().request('/agent/shares/cmd-4', asTenant(acme))).json()) as {
      share_url: string;
    };
    const listing = await app().request(share_url);
    expect(listing.status).toBe(200);
    const { files } = (await listing.json()) as { files: Array<{ url: string }> };
    expect(await (await app().request(files[0]!.url)).text()).toBe('quarter,revenue\nq3,42\n');
    clock += 2 * HOUR;
    expect((await app().request(share_url)).status).toBe(410);
    const expired = await app().request('/agent/shares/cmd-4', asTenant(acme));
    expect(expired.status).toBe(410);
    expect(await expired.json()).toMatchObject({ error: { code: 'share_expired' } });
  });
});

describe('external_share.prepare end to end', () => {
  const tenant: Tenant = { org_id: 'default', project_id: 'nexus' };
  let nexus: TestNexus;
  beforeAll(async () => {
    nexus = await startTestNexus({ SESSION_SECRET: SECRET });
  });
  afterAll(async () => {
    await nexus.stop();
  });

  async function runToEnd(commandId: string) {
    let last: { report_type: string; payload: Record<string, unknown> } | undefined;
    await waitUntil(async () => {
      const page = (await (await nexus.get('/agent/reports?after=0&limit=1000', tenant)).json()) as {
        reports: Array<{ command_id: string; report_type: string; payload: Record<string, unknown> }>;
      };
      last = page.reports.filter((r) => r.command_id === commandId).at(-1);
      return last?.report_type === 'task_completed' || last?.report_type === 'task_dead_lettered';
    });
    return last!;
  }

  it('puts the token in no report, export or audit record', async () => {
    const workspace = join(nexus.dataDir, 'workspace', tenant.org_id, tenant.project_id);
    mkdirSync(join(workspace, 'reports'), { recursive: true });
    writeFileSync(join(workspace, 'reports', 'q3.csv'), 'quarter,revenue\nq3,42\n');
    const requested = await nexus.command(tenant, {
      command_type: 'external_share.prepare',
      params: { recipient: 'cfo@example.com', files: ['reports/q3.csv'] },
    });
    const { ask_id, command_id } = (await requested.json()) as { ask_id: string; command_id: string };
    const decided = await fetch(`${nexus.url}/approvals/${ask_id}/decide`, {
      method: 'POST',
      headers: { ...nexus.headers(tenant, { 'x-api-key': ADMIN_KEY }), 'content-type': 'application/json' },
      body: JSON.stringify({ decision: 'approve' }),
    });
    expect(decided.status).toBe(202);
    const completed = await runToEnd(command_id);
    expect(completed.report_type).toBe('task_completed');
    const result = completed.payload.result as Record<string, unknown>;
    expect(Object.keys(result).sort()).toEqual(['expires_at', 'files', 'recipient', 'share_id']);
    const token = shareToken(SECRET, result.share_id as string);
    expect((await fetch(`${nexus.url}/shares/${token}`)).status).toBe(200);

    const reports = await (await nexus.get('/agent/reports?after=0&limit=1000', tenant)).text();
    expect(reports).toContain(result.share_id as string);
    expect(reports).not.toContain(token);
    const audit = await (await nexus.get('/audit/approvals?format=ndjson', tenant)).text();
    expect(audit).toContain(command_id);
    expect(audit).not.toContain(token);
    for (const source of ['events', 'reports']) {
      const response = await nexus.command(tenant, { command_type: 'data.export', params: { source } });
      const exported = await runToEnd(((await response.json()) as { command_id: string }).command_id);
      const file = readFileSync(
        join(nexus.dataDir, 'outbox', (exported.payload.result as { file: string }).file),
        'utf8',
      );
      expect(file).toContain(result.share_id as string);
      expect(file).not.toContain(token);
    }
    expect(everything(join(nexus.dataDir, 'outbox'))).not.toContain(token);
  });
});
