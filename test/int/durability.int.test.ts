import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { API_KEY } from '../support/nexus.js';
import { spawnNexus } from '../support/nexus-process.js';
import { SseClient } from '../support/sse-client.js';

const headers = { 'x-api-key': API_KEY, 'x-org-id': 'durable', 'x-project-id': 'p' };

describe('durability', () => {
  it('after kill -9 mid-burst, every command that got a 202 is in the log and completes exactly once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'nexus-durable-'));
    const env = { NEXUS_DATA_DIR: dataDir, WORKER_CONCURRENCY: '8', RETRY_BASE_DELAY_MS: '10' };
    const first = await spawnNexus(env);

    const acknowledged = new Set<string>();
    let killed = false;
    let sent = 0;
    const killing = (async () => {
      const sender = async (worker: number) => {
        while (!killed && sent < 4000) {
          const n = sent++;
          try {
            const response = await fetch(`${first.url}/sidecar/command`, {
              method: 'POST',
              headers: { ...headers, 'content-type': 'application/json' },
              body: JSON.stringify({ command_type: 'echo.test', params: { n, worker } }),
            });
            if (response.status === 202)
              acknowledged.add(((await response.json()) as { command_id: string }).command_id);
          } catch {
            // The connection died with the process: this command was never acknowledged.
          }
          if (acknowledged.size >= 1000 && !killed) {
            killed = true;
            await first.kill('SIGKILL');
          }
        }
      };
      await Promise.all(Array.from({ length: 32 }, (_, i) => sender(i)));
    })();
    await killing;
    expect(killed).toBe(true);
    expect(acknowledged.size).toBeGreaterThanOrEqual(1000);

    const second = await spawnNexus(env);
    try {
      const client = await SseClient.connect(`${second.url}/agent/reports/stream?last_event_id=0`, headers);
      const completions = new Map<string, number>();
      let counted = 0;
      const count = () => {
        for (; counted < client.reports.length; counted++) {
          const report = client.reports[counted]!;
          if (report.report_type === 'task_completed')
            completions.set(report.command_id!, (completions.get(report.command_id!) ?? 0) + 1);
        }
      };
      const accepted = () =>
        client.reports.filter((r) => r.report_type === 'command_accepted').map((r) => r.command_id!);
      await client.until(() => {
        count();
        return [...acknowledged, ...accepted()].every((id) => completions.has(id));
      }, 60_000);
      // Everything known is finished: no task may be left queued or running.
      const snapshot = (await (await fetch(`${second.url}/agent/snapshot`, { headers })).json()) as {
        autopilot: Record<string, number>;
      };
      expect(snapshot.autopilot).toMatchObject({ queued: 0, running: 0, dead_lettered: 0 });
      count();
      client.close();

      const recorded = accepted();
      expect(new Set(recorded).size).toBe(recorded.length);
      for (const id of acknowledged) expect(recorded).toContain(id);
      expect([...completions.values()].every((n) => n === 1)).toBe(true);
      expect(completions.size).toBe(recorded.length);
    } finally {
      expect(await second.kill('SIGTERM')).toBe(0);
    }
  });

  it('after kill -9 in the middle of a slow task, the attempt is recorded as lost and retried to completion', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'nexus-lost-'));
    const file = join(dataDir, 'runs.log');
    const env = { NEXUS_DATA_DIR: dataDir, RETRY_BASE_DELAY_MS: '0' };
    const first = await spawnNexus(env, { testCommands: true });
    const stream = await SseClient.connect(`${first.url}/agent/reports/stream`, headers);
    const response = await fetch(`${first.url}/sidecar/command`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ command_type: 'test.record', params: { file, line: 'slow', ms: 60_000 } }),
    });
    const { command_id } = (await response.json()) as { command_id: string };
    await stream.until((c) => c.reports.some((r) => r.command_id === command_id && r.report_type === 'task_started'));
    await first.kill('SIGKILL');

    const second = await spawnNexus(env, { testCommands: true });
    try {
      const replay = await SseClient.connect(`${second.url}/agent/reports/stream?last_event_id=0`, headers);
      await replay.until((c) =>
        c.reports.some((r) => r.command_id === command_id && r.report_type === 'task_completed'),
      );
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
      expect(mine[3]!.payload).toMatchObject({ error: { code: 'WORKER_LOST' }, attempt: 1 });
      expect(readFileSync(file, 'utf8').trim().split('\n')).toEqual(['slow attempt=1', 'slow attempt=2']);
      replay.close();
    } finally {
      await second.kill('SIGTERM');
    }
  });
});
