import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { constants } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { withPinnedDir } from '../../src/catalog/pinned-dir.js';
import { inWorkspace, openEntry, removeEntry } from '../../src/catalog/workspace.js';
import type { Tenant } from '../../src/events/tenant.js';

// The check-then-use race: `inWorkspace` resolves real paths, then the command acts. Between
// the two, a folder of the path is swapped for a link to outside. The swap is done by the test
// between the steps, so the race is deterministic.

const tenant: Tenant = { org_id: 'race', project_id: 'p' };
const linux = existsSync('/proc/self/fd');
let base: string;
let workspace: string;
let outside: string;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'nexus-race-'));
  workspace = join(base, 'workspace', tenant.org_id, tenant.project_id);
  outside = join(base, 'outside');
  mkdirSync(join(workspace, 'reports'), { recursive: true });
  mkdirSync(join(outside, 'sub'), { recursive: true });
  writeFileSync(join(workspace, 'reports', 'q3.csv'), 'inside');
  writeFileSync(join(outside, 'q3.csv'), 'outside');
  writeFileSync(join(outside, 'sub', 'inner.txt'), 'outside too');
});

/** Moves `reports` away and puts a link to the outside folder in its place. */
function swapReportsForLink() {
  renameSync(join(workspace, 'reports'), join(workspace, 'reports-moved'));
  symlinkSync(outside, join(workspace, 'reports'));
}

describe('a folder swapped for a link after the path was resolved', () => {
  it('file.delete refuses to act instead of deleting outside', async () => {
    const entry = await inWorkspace(join(base, 'workspace'), tenant, 'reports/q3.csv');
    swapReportsForLink();
    await expect(removeEntry(entry, { recursive: false })).rejects.toMatchObject({ code: 'SYMLINK_ESCAPE' });
    expect(readFileSync(join(outside, 'q3.csv'), 'utf8')).toBe('outside');
  });

  it('a recursive delete refuses too', async () => {
    mkdirSync(join(workspace, 'reports', 'sub'));
    const entry = await inWorkspace(join(base, 'workspace'), tenant, 'reports/sub');
    swapReportsForLink();
    await expect(removeEntry(entry, { recursive: true })).rejects.toMatchObject({ code: 'SYMLINK_ESCAPE' });
    expect(readFileSync(join(outside, 'sub', 'inner.txt'), 'utf8')).toBe('outside too');
  });

  it('external_share.prepare refuses to open the file instead of reading outside', async () => {
    const entry = await inWorkspace(join(base, 'workspace'), tenant, 'reports/q3.csv');
    swapReportsForLink();
    await expect(openEntry(entry)).rejects.toMatchObject({ code: 'SYMLINK_ESCAPE' });
  });

  it('a file swapped for a link is not opened through it', async () => {
    const entry = await inWorkspace(join(base, 'workspace'), tenant, 'reports/q3.csv');
    await rm(join(workspace, 'reports', 'q3.csv'));
    symlinkSync(join(outside, 'q3.csv'), join(workspace, 'reports', 'q3.csv'));
    await expect(openEntry(entry)).rejects.toMatchObject({ code: 'NOT_A_FILE' });
  });

  it('opens and deletes what was resolved when nothing moved', async () => {
    const entry = await inWorkspace(join(base, 'workspace'), tenant, 'reports/q3.csv');
    const file = await openEntry(entry);
    try {
      expect(file).toMatchObject({ name: 'q3.csv', bytes: 6 });
      expect(await file.handle.readFile('utf8')).toBe('inside');
    } finally {
      await file.handle.close();
    }
    await removeEntry(entry, { recursive: false });
    expect(existsSync(join(workspace, 'reports', 'q3.csv'))).toBe(false);
  });
});

describe.runIf(linux)('a folder swapped for a link after it was pinned (Linux, /proc/self/fd)', () => {
  it('the delete still acts in the folder that was checked', async () => {
    const entry = await inWorkspace(join(base, 'workspace'), tenant, 'reports/q3.csv');
    await withPinnedDir(dirname(entry.target), entry.root, async (child) => {
      swapReportsForLink();
      await rm(child('q3.csv'));
    });
    expect(readFileSync(join(outside, 'q3.csv'), 'utf8')).toBe('outside');
    expect(existsSync(join(workspace, 'reports-moved', 'q3.csv'))).toBe(false);
  });

  it('the copy still reads the file that was checked', async () => {
    const entry = await inWorkspace(join(base, 'workspace'), tenant, 'reports/q3.csv');
    const text = await withPinnedDir(dirname(entry.target), entry.root, async (child) => {
      swapReportsForLink();
      const handle = await open(child('q3.csv'), constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        return await readFile(handle, 'utf8');
      } finally {
        await handle.close();
      }
    });
    expect(text).toBe('inside');
  });

  it('a pinned folder that turns out to lie outside the root is refused before acting', async () => {
    await expect(withPinnedDir(outside, workspace, () => rm(join(outside, 'q3.csv')))).rejects.toMatchObject({
      code: 'SYMLINK_ESCAPE',
    });
    expect(existsSync(join(outside, 'q3.csv'))).toBe(true);
  });
});
