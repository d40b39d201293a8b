import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileDelete } from '../../src/catalog/commands/file-delete.js';
import type { Tenant } from '../../src/events/tenant.js';
import { handlerContext } from '../support/handler-context.js';
import { startTestNexus, type TestNexus } from '../support/nexus.js';

// Workspace paths are refused at the door (422), before anything is recorded, instead of
// being accepted with 202 and dead-lettered when the task runs.

const tenant: Tenant = { org_id: 'paths', project_id: 'p' };
let nexus: TestNexus;
beforeAll(async () => {
  nexus = await startTestNexus();
});
afterAll(async () => {
  await nexus.stop();
});

const refused: Array<[string, string]> = [
  ['../../etc/passwd', 'climbs out'],
  ['../../other-org/p/secret.txt', "another tenant's folder"],
  ['a/../../b', 'climbs out after a folder'],
  ['..', 'the parent'],
  ['/etc/passwd', 'POSIX absolute'],
  ['//server/share/x', 'POSIX double slash'],
  ['C:\\x', 'Windows drive'],
  ['C:/x', 'Windows drive, forward slash'],
  ['c:x', 'Windows drive-relative'],
  ['\\\\server\\share\\x', 'UNC'],
  ['reports\\q3.csv', 'a backslash'],
  ['.', 'the workspace itself'],
  ['./', 'the workspace itself, with a slash'],
  ['a/..', 'the workspace itself, through a folder'],
  ['a/b/../..//', 'the workspace itself, the long way'],
  ['x\0.txt', 'a NUL byte'],
];

const accepted = ['reports/q3.csv', 'a/../b.txt', './notes.md', 'dir/', '..hidden', '.env', 'a/b/../c'];

describe('workspace paths at the door', () => {
  it.each(refused)('file.delete refuses %j (%s) with 422 invalid_params on path', async (path) => {
    const response = await nexus.command(tenant, { command_type: 'file.delete', params: { path } });
    expect(response.status).toBe(422);
    const body = (await response.json()) as { error: { code: string; details: Array<{ path: string }> } };
    expect(body.error.code).toBe('invalid_params');
    expect(body.error.details).toContainEqual(expect.objectContaining({ path: 'path' }));
  });

  it.each(refused)('external_share.prepare refuses %j (%s) among its files', async (path) => {
    const response = await nexus.command(tenant, {
      command_type: 'external_share.prepare',
      params: { recipient: 'a@example.com', files: ['ok.txt', path] },
    });
    expect(response.status).toBe(422);
    const body = (await response.json()) as { error: { code: string; details: Array<{ path: string }> } };
    expect(body.error.code).toBe('invalid_params');
    expect(body.error.details).toContainEqual(expect.objectContaining({ path: 'files.1' }));
  });

  it('records nothing for a refused path', async () => {
    const before = (await (await nexus.get('/agent/reports?after=0&limit=1000', tenant)).json()) as {
      reports: unknown[];
    };
    await nexus.command(tenant, { command_type: 'file.delete', params: { path: '../../etc/passwd' } });
    const after = (await (await nexus.get('/agent/reports?after=0&limit=1000', tenant)).json()) as {
      reports: unknown[];
    };
    expect(after.reports).toHaveLength(before.reports.length);
  });

  it.each(accepted)('accepts %j, which stays inside the workspace', async (path) => {
    const response = await nexus.command(tenant, { command_type: 'file.delete', params: { path } });
    expect(response.status).toBe(202);
  });
});

describe('the run-time checks stay (defence in depth)', () => {
  it('file.delete still refuses a path out of the workspace when its handler is called directly', async () => {
    const workspaceDir = mkdtempSync(join(tmpdir(), 'nexus-ws-'));
    const { handler } = fileDelete(workspaceDir);
    await expect(handler!({ path: '../../etc/passwd', recursive: false }, handlerContext())).rejects.toMatchObject({
      code: 'PATH_OUTSIDE_WORKSPACE',
    });
    await expect(handler!({ path: '/etc/passwd', recursive: false }, handlerContext())).rejects.toMatchObject({
      code: 'PATH_OUTSIDE_WORKSPACE',
    });
    await expect(handler!({ path: 'a/..', recursive: true }, handlerContext())).rejects.toMatchObject({
      code: 'PATH_OUTSIDE_WORKSPACE',
    });
  });
});
