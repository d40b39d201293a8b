import { describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/events/tenant.js';
import { ADMIN_KEY, startTestNexus, type TestNexus } from '../support/nexus.js';

const tenant: Tenant = { org_id: 'ops', project_id: 'p' };

const autopilot = (nexus: TestNexus, action: 'pause' | 'resume', key = ADMIN_KEY) =>
  fetch(`${nexus.url}/agent/autopilot`, {
    method: 'POST',
    headers: { ...nexus.headers(tenant, { 'x-api-key': key }), 'content-type': 'application/json' },
    body: JSON.stringify({ action, reason: `${action} for the test` }),
  });

const snapshotOf = async (nexus: TestNexus) =>
  (await (await nexus.get('/agent/snapshot', tenant)).json()) as {
    autopilot: { status: string; queued: number };
    memory: Record<string, unknown>;
  };

describe('autopilot', () => {
  it('paused, commands are accepted and recorded but not run until resumed; the pause survives a restart', async () => {
    const nexus = await startTestNexus();
    const stream = await nexus.stream(tenant, { lastEventId: 0 });
    const paused = await autopilot(nexus, 'pause');
    expect(paused.status).toBe(202);
    expect(await paused.json()).toMatchObject({ status: 'accepted', autopilot: 'paused' });
    await stream.until((c) => c.reports.some((r) => r.report_type === 'autopilot_changed'));
    expect(stream.reports.find((r) => r.report_type === 'autopilot_changed')!.payload).toMatchObject({
      status: 'paused',
      by: 'admin',
    });

    const held = (await (
      await nexus.command(tenant, { command_type: 'echo.test', params: { held: true } })
    ).json()) as { command_id: string };
    await stream.until((c) =>
      c.reports.some((r) => r.command_id === held.command_id && r.report_type === 'task_queued'),
    );
    expect((await snapshotOf(nexus)).autopilot).toMatchObject({ status: 'paused', queued: 1 });
    await nexus.stop();

    const again = await startTestNexus({ NEXUS_DATA_DIR: nexus.dataDir });
    try {
      const replay = await again.stream(tenant, { lastEventId: 0 });
      // still paused after the restart: resuming is what lets the held command run
      expect((await snapshotOf(again)).autopilot.status).toBe('paused');
      expect(replay.reports.some((r) => r.command_id === held.command_id && r.report_type === 'task_started')).toBe(
        false,
      );
      expect((await autopilot(again, 'resume')).status).toBe(202);
      await replay.until((c) =>
        c.reports.some((r) => r.command_id === held.command_id && r.report_type === 'task_completed'),
      );
      const changes = replay.reports.filter((r) => r.report_type === 'autopilot_changed').map((r) => r.payload.status);
      expect(changes).toEqual(['paused', 'running']);
      const resumedAt = replay.reports.find(
        (r) => r.report_type === 'autopilot_changed' && r.payload.status === 'running',
      )!.position;
      const started = replay.reports.find(
        (r) => r.command_id === held.command_id && r.report_type === 'task_started',
      )!.position;
      expect(started).toBeGreaterThan(resumedAt);
      expect((await snapshotOf(again)).autopilot.status).toBe('idle');
      replay.close();
    } finally {
      await again.stop();
    }
  });

  it('is for admins only (403), and pausing twice changes nothing', async () => {
    const nexus = await startTestNexus();
    try {
      const refused = await autopilot(nexus, 'pause', 'test-api-key-0123456789');
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({ error: { code: 'forbidden' } });
      await autopilot(nexus, 'pause');
      await autopilot(nexus, 'pause');
      const page = (await (await nexus.get('/agent/reports', tenant)).json()) as {
        reports: Array<{ report_type: string }>;
      };
      expect(page.reports.filter((r) => r.report_type === 'autopilot_changed')).toHaveLength(1);
    } finally {
      await nexus.stop();
    }
  });
});

describe('memory', () => {
  it('memory.set and memory.delete feed snapshot.memory, reported as memory_changed, and time travel sees the past', async () => {
    const nexus = await startTestNexus();
    try {
      const stream = await nexus.stream(tenant, { lastEventId: 0 });
      const done = async (body: unknown) => {
        const { command_id } = (await (await nexus.command(tenant, body)).json()) as { command_id: string };
        await stream.until((c) =>
          c.reports.some((r) => r.command_id === command_id && r.report_type === 'task_completed'),
        );
      };
      await done({ command_type: 'memory.set', params: { key: 'customer', value: { name: 'ACME', tier: 2 } } });
      await done({ command_type: 'memory.set', params: { key: 'note', value: 'call back monday' } });
      expect((await snapshotOf(nexus)).memory).toEqual({
        customer: { name: 'ACME', tier: 2 },
        note: 'call back monday',
      });
      const before = ((await snapshotOf(nexus)) as unknown as { position: number }).position;
      await done({ command_type: 'memory.delete', params: { key: 'note' } });
      expect((await snapshotOf(nexus)).memory).toEqual({ customer: { name: 'ACME', tier: 2 } });
      const past = (await (await nexus.get(`/agent/snapshot?at=${before}`, tenant)).json()) as {
        memory: Record<string, unknown>;
      };
      expect(past.memory).toEqual({ customer: { name: 'ACME', tier: 2 }, note: 'call back monday' });
      const changes = stream.reports.filter((r) => r.report_type === 'memory_changed').map((r) => r.payload);
      expect(changes).toEqual([
        expect.objectContaining({ key: 'customer', value: { name: 'ACME', tier: 2 } }),
        expect.objectContaining({ key: 'note', value: 'call back monday' }),
        expect.objectContaining({ key: 'note', deleted: true }),
      ]);
      // a write is an effect of its task: it shows after task_started, before task_completed
      const first = stream.reports.find((r) => r.report_type === 'memory_changed')!.correlation_id;
      expect(stream.reports.filter((r) => r.correlation_id === first).map((r) => r.report_type)).toEqual([
        'command_accepted',
        'task_queued',
        'task_started',
        'memory_changed',
        'task_completed',
      ]);
      const invalid = await nexus.command(tenant, { command_type: 'memory.set', params: { key: '' } });
      expect(invalid.status).toBe(422);
      stream.close();
    } finally {
      await nexus.stop();
    }
  });
});
