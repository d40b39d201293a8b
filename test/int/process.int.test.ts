import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runNexusToExit, spawnNexus } from '../support/nexus-process.js';
import { API_KEY } from '../support/nexus.js';
import { SseClient } from '../support/sse-client.js';
import { waitUntil } from '../support/wait.js';

describe('the NEXUS process', () => {
  it('refuses to start on a bad value, naming the variable', async () => {
    const { code, stderr } = await runNexusToExit({ PORT: 'eighty', STREAM_EVENT_KEEP: '-5' });
    expect(code).toBe(1);
    expect(stderr).toContain('NEXUS cannot start: invalid configuration');
    expect(stderr).toContain('PORT:');
    expect(stderr).toContain('STREAM_EVENT_KEEP:');
  });

  it('reads a .env file in its working directory', async () => {
    const { code, stderr } = await runNexusToExit({}, { dotenv: 'STREAM_WORKLOG_KEEP=none\n' });
    expect(code).toBe(1);
    expect(stderr).toContain('STREAM_WORKLOG_KEEP:');
  });

  it('refuses a second NEXUS on the same data folder', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'nexus-owner-'));
    const first = await spawnNexus({ NEXUS_DATA_DIR: dataDir });
    try {
      const second = await runNexusToExit({ NEXUS_DATA_DIR: dataDir, PORT: '0' });
      expect(second.code).toBe(1);
      expect(second.stderr).toContain('is in use by another NEXUS process');
    } finally {
      await first.kill('SIGTERM');
    }
  });

  it('on SIGTERM ends its streams, flushes and exits 0; restarted, it has everything', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'nexus-sigterm-'));
    const headers = { 'x-api-key': API_KEY, 'x-org-id': 'term', 'x-project-id': 'p' };
    const first = await spawnNexus({ NEXUS_DATA_DIR: dataDir });
    const stream = await SseClient.connect(`${first.url}/agent/reports/stream`, headers);
    const response = await fetch(`${first.url}/sidecar/command`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ command_type: 'echo.test', params: {} }),
    });
    const { command_id } = (await response.json()) as { command_id: string };
    await stream.until((c) => c.reports.some((r) => r.command_id === command_id && r.report_type === 'task_completed'));
    expect(await first.kill('SIGTERM')).toBe(0);
    await stream.until((c) => c.ended);

    const second = await spawnNexus({ NEXUS_DATA_DIR: dataDir });
    try {
      const replay = await SseClient.connect(`${second.url}/agent/reports/stream?last_event_id=0`, headers);
      await replay.until((c) =>
        c.reports.some((r) => r.command_id === command_id && r.report_type === 'task_completed'),
      );
      expect(replay.reports.map((r) => r.position)).toEqual(stream.reports.map((r) => r.position));
      replay.close();
    } finally {
      await second.kill('SIGTERM');
    }
  });

  it('puts the correlation id on the log lines of a request and of its task', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'nexus-logs-'));
    const headers = { 'x-api-key': API_KEY, 'x-org-id': 'logs', 'x-project-id': 'p' };
    const nexus = await spawnNexus({ NEXUS_DATA_DIR: dataDir, MAX_RETRIES: '0' }, { testCommands: true });
    try {
      const stream = await SseClient.connect(`${nexus.url}/agent/reports/stream`, headers);
      await fetch(`${nexus.url}/sidecar/command`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ command_type: 'test.fatal', params: {}, correlation_id: 'trace-logs-1' }),
      });
      await stream.until((c) => c.reports.some((r) => r.report_type === 'task_dead_lettered'));
      stream.close();
      await waitUntil(() => nexus.logs.some((line) => line.msg === 'task failed'), { what: 'the task log line' });
      const mine = nexus.logs.filter((line) => line.correlation_id === 'trace-logs-1');
      expect(mine.map((line) => line.msg)).toEqual(expect.arrayContaining(['request', 'task failed']));
      expect(mine.find((line) => line.msg === 'task failed')).toMatchObject({
        level: 'warn',
        error: { code: 'BAD_INPUT' },
      });
    } finally {
      await nexus.kill('SIGTERM');
    }
  });
});
