import { existsSync, mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/events/tenant.js';
import { OutboxFullError } from '../../src/shares/outbox.js';
import { ShareStore, shareToken, type ShareManifest } from '../../src/shares/share-store.js';
import { startTestNexus, type TestNexus } from '../support/nexus.js';
import type { SseClient } from '../support/sse-client.js';

// A tenant's outbox has a quota and a retention. Nothing runs on a timer: each write sweeps the
// tenant's folder first (old exports, expired shares), then measures it.

const HOUR = 3_600_000;
const SECRET = 'outbox-test-secret-0123456789-0123456789';
const acme: Tenant = { org_id: 'acme', project_id: 'web' };
const globex: Tenant = { org_id: 'globex', project_id: 'web' };

describe('share packages in the outbox', () => {
  let base: string;
  let shares: ShareStore;
  const t0 = Date.parse('2030-01-01T00:00:00Z');

  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'nexus-outbox-'));
    mkdirSync(join(base, 'files'));
    shares = new ShareStore(join(base, 'outbox'), {
      secret: SECRET,
      limits: { maxBytesPerTenant: 4096, retentionMs: 10 * HOUR },
    });
  });

  async function share(
    tenant: Tenant,
    command_id: string,
    bytes: number,
    at: number,
    hours = 1,
  ): Promise<ShareManifest> {
    const path = join(base, 'files', `${command_id}.bin`);
    writeFileSync(path, Buffer.alloc(bytes, 7));
    const handle = await open(path, 'r');
    try {
      return await shares.create({
        recipient: 'someone@example.com',
        files: [{ name: `${command_id}.bin`, handle, bytes }],
        created_at: new Date(at).toISOString(),
        expires_at: new Date(at + hours * HOUR).toISOString(),
        tenant,
        command_id,
      });
    } finally {
      await handle.close();
    }
  }

  const tenantShares = (tenant: Tenant) => join(base, 'outbox', tenant.org_id, tenant.project_id, 'shares');

  it("lives in the tenant's own folder", async () => {
    const made = await share(acme, 'cmd-home', 10, t0);
    expect(readdirSync(tenantShares(acme))).toHaveLength(1);
    expect((await shares.forCommand(acme, 'cmd-home'))?.manifest).toEqual(made);
  });

  it("refuses a share that would take the tenant past its quota, and leaves nothing behind; other tenants' quotas are their own", async () => {
    const before = readdirSync(tenantShares(acme));
    await expect(share(acme, 'cmd-big', 8192, t0)).rejects.toBeInstanceOf(OutboxFullError);
    expect(readdirSync(tenantShares(acme))).toEqual(before);
    expect(await shares.forCommand(acme, 'cmd-big')).toBeUndefined();
    await expect(share(globex, 'cmd-theirs', 3000, t0)).resolves.toMatchObject({ files: [{ bytes: 3000 }] });
  });

  it("frees an expired share's bytes at the tenant's next write; its link then answers as expired, and goes after the retention", async () => {
    const old = await share(acme, 'cmd-old', 2500, t0, 1);
    await expect(share(acme, 'cmd-too-soon', 2500, t0 + 0.5 * HOUR)).rejects.toBeInstanceOf(OutboxFullError);
    await share(acme, 'cmd-new', 2500, t0 + 2 * HOUR);
    const link = shareToken(SECRET, old.share_id);
    expect(await shares.open(link)).toMatchObject({ share_id: old.share_id, expires_at: old.expires_at });
    expect(await shares.file(link, 'cmd-old.bin')).toBeUndefined();
    await share(acme, 'cmd-later', 10, t0 + 12 * HOUR);
    expect(await shares.open(link)).toBeUndefined();
    expect(await shares.forCommand(acme, 'cmd-old')).toBeUndefined();
  });
});

describe('data.export', () => {
  let clock = Date.now();
  let nexus: TestNexus;
  const busy: Tenant = { org_id: 'busy', project_id: 'p' };
  const full: Tenant = { org_id: 'full', project_id: 'p' };
  const quiet: Tenant = { org_id: 'quiet', project_id: 'p' };
  const streams = new Map<string, SseClient>();

  beforeAll(async () => {
    nexus = await startTestNexus(
      { OUTBOX_MAX_BYTES_PER_TENANT: '8192', OUTBOX_RETENTION_HOURS: '1' },
      { now: () => new Date(clock) },
    );
  });
  afterAll(async () => {
    for (const s of streams.values()) s.close();
    await nexus.stop();
  });

  const folder = (tenant: Tenant) => join(nexus.dataDir, 'outbox', tenant.org_id, tenant.project_id);

  async function run(tenant: Tenant, command_type: string, params: Record<string, unknown>) {
    const stream = streams.get(tenant.org_id) ?? (await nexus.stream(tenant, { lastEventId: 0 }));
    streams.set(tenant.org_id, stream);
    const response = await nexus.command(tenant, { command_type, params });
    expect(response.status).toBe(202);
    const { command_id } = (await response.json()) as { command_id: string };
    await stream.until((c) =>
      c.reports.some(
        (r) => r.command_id === command_id && ['task_completed', 'task_dead_lettered'].includes(r.report_type),
      ),
    );
    return stream.reports.filter((r) => r.command_id === command_id);
  }

  it('sweeps exports older than the retention before it writes', async () => {
    const first = await run(quiet, 'data.export', {});
    const firstFile = (first.at(-1)!.payload.result as { file: string }).file;
    expect(existsSync(join(nexus.dataDir, 'outbox', firstFile))).toBe(true);
    clock += 2 * HOUR;
    const second = await run(quiet, 'data.export', {});
    const secondFile = (second.at(-1)!.payload.result as { file: string }).file;
    expect(existsSync(join(nexus.dataDir, 'outbox', firstFile))).toBe(false);
    expect(existsSync(join(nexus.dataDir, 'outbox', secondFile))).toBe(true);
  });

  it('an export that grows past the quota stops, deletes its partial file and fails OUTBOX_FULL, not retried', async () => {
    for (let i = 0; i < 40; i++) await run(busy, 'echo.test', { i, padding: 'x'.repeat(100) });
    const reports = await run(busy, 'data.export', { source: 'events' });
    expect(reports.map((r) => r.report_type).filter((t) => t === 'task_started')).toHaveLength(1);
    expect(reports.at(-1)).toMatchObject({
      report_type: 'task_dead_lettered',
      payload: { error: { code: 'OUTBOX_FULL' } },
    });
    expect(readdirSync(folder(busy))).toEqual([]);
  });

  it('a full outbox refuses an export before it writes', async () => {
    mkdirSync(folder(full), { recursive: true });
    writeFileSync(join(folder(full), 'kept.bin'), Buffer.alloc(9000));
    utimesSync(join(folder(full), 'kept.bin'), clock / 1000, clock / 1000);
    const reports = await run(full, 'data.export', {});
    expect(reports.at(-1)).toMatchObject({
      report_type: 'task_dead_lettered',
      payload: { error: { code: 'OUTBOX_FULL' } },
    });
    expect(readdirSync(folder(full))).toEqual(['kept.bin']);
  });
});
