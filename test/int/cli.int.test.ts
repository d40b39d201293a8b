import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, API_KEY, startTestNexus, type TestNexus } from '../support/nexus.js';

// `npx nexus …` against a running NEXUS, each sub-command as a process, as a user runs it.

const root = resolve(import.meta.dirname, '..', '..');
const tsx = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
let nexus: TestNexus;

function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', tsx, join(root, 'src/cli/main.ts'), ...args], {
    env: {
      PATH: process.env.PATH,
      NEXUS_URL: nexus.url,
      NEXUS_API_KEY: API_KEY,
      NEXUS_ORG: 'cli',
      NEXUS_PROJECT: 'p',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((done) => child.once('exit', (code) => done({ code, stdout, stderr })));
}

beforeAll(async () => {
  nexus = await startTestNexus({ ASK_TTL_SECONDS: '3600' });
});
afterAll(async () => {
  await nexus.stop();
});

describe('the nexus CLI', () => {
  it('send: posts a command and prints the 202 answer; a bad one exits 1 with the error', async () => {
    const sent = await cli(['send', 'echo.test', '--params', '{"hello":"cli"}', '--correlation-id', 'cli-corr-1']);
    expect(sent.code).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({
      status: 'accepted',
      correlation_id: 'cli-corr-1',
      risk_level: 'GREEN',
    });
    const bad = await cli(['send', 'no.such.type']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('422 unknown_command_type');
    const wrongKey = await cli(['send', 'echo.test'], { NEXUS_API_KEY: 'wrong-key-0123456789' });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toContain('401');
  });

  it('tail: prints the reports from a position, one JSON line each, and stops when asked', async () => {
    const tailed = await cli(['tail', '--after', '0', '--until', 'task_completed']);
    expect(tailed.code).toBe(0);
    const reports = tailed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { report_type: string; correlation_id: string; position: number });
    expect(reports.map((r) => r.report_type)).toEqual([
      'command_accepted',
      'task_queued',
      'task_started',
      'task_completed',
    ]);
    expect(reports.every((r) => r.correlation_id === 'cli-corr-1')).toBe(true);
    // resuming after the second report gives the rest, nothing twice
    const resumed = await cli(['tail', '--after', String(reports[1]!.position), '--count', '2']);
    expect(
      resumed.stdout
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { position: number }).position),
    ).toEqual(reports.slice(2).map((r) => r.position));
  });

  it('asks and decide: a RED command waits as an ask, the CLI lists and approves it', async () => {
    const sent = JSON.parse(
      (await cli(['send', 'external_share.prepare', '--params', '{"recipient":"a@example.com"}'])).stdout,
    ) as { ask_id: string };
    const asks = JSON.parse((await cli(['asks'])).stdout) as { asks: Array<{ ask_id: string }> };
    expect(asks.asks.map((a) => a.ask_id)).toContain(sent.ask_id);
    // decided by another principal than the one who asked (four eyes): the admin key
    const decided = await cli(['decide', sent.ask_id, 'approve', '--reason', 'ok from the CLI'], {
      NEXUS_API_KEY: ADMIN_KEY,
    });
    expect(decided.code).toBe(0);
    expect(JSON.parse(decided.stdout)).toMatchObject({ status: 'accepted', decision: 'approve' });
    const again = await cli(['decide', sent.ask_id, 'deny'], { NEXUS_API_KEY: ADMIN_KEY });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('409');
  });

  it('snapshot --at N: the state as it stood after position N', async () => {
    const now = JSON.parse((await cli(['snapshot'])).stdout) as { position: number; worklog: unknown[] };
    const early = JSON.parse((await cli(['snapshot', '--at', '2'])).stdout) as { position: number; worklog: unknown[] };
    expect(early.position).toBe(2);
    expect(now.position).toBeGreaterThan(2);
    expect(early.worklog.length).toBeLessThan(now.worklog.length);
  });

  it('audit export and verify', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'nexus-cli-')), 'audit.ndjson');
    expect((await cli(['audit', 'export', '--out', out])).code).toBe(0);
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { decision?: { decided_by?: string } });
    expect(lines).toHaveLength(1);
    const verified = await cli(['verify']);
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true });
  });

  it('prints its usage', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('nexus <command>');
  });
});
