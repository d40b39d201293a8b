import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readlink, realpath, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, posix, resolve } from 'node:path';
import { z } from 'zod';
import type { Tenant } from '../events/tenant.js';
import { TaskFailure } from './define-command.js';
import { isInside, withPinnedDir } from './pinned-dir.js';

/** A relative path, normalized, without a trailing `/`: `.` is the workspace itself. */
const normalized = (path: string): string => posix.normalize(path).replace(/(.)\/+$/, '$1');

/**
 * A path as params give it: relative to the tenant's workspace, `/` between folders. Refused at
 * the door (422): absolute paths (`/x`, `C:\x`, `C:x`, `//server/x`), any backslash (a folder
 * separator on Windows, a plain character here: ambiguous either way), `..` that climbs out,
 * the workspace itself (`.`, `a/..`) and NUL.
 */
export const workspacePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.includes('\0'), 'must not contain NUL')
  .refine((p) => !p.includes('\\'), 'must separate folders with "/": backslashes are refused')
  .refine((p) => !p.startsWith('/') && !/^[A-Za-z]:/.test(p), 'must be relative to the workspace, not absolute')
  .refine(
    (p) => normalized(p) !== '..' && !normalized(p).startsWith('../'),
    'must stay inside the workspace: ".." may not climb out',
  )
  .refine((p) => normalized(p) !== '.', 'must name something inside the workspace, not the workspace itself')
  .describe("Relative to the tenant's workspace, NEXUS_WORKSPACE_DIR/<org>/<project>");

export interface WorkspaceEntry {
  /** The tenant's workspace, its real path. */
  readonly root: string;
  /** The real path, its folders resolved. */
  readonly target: string;
  /** `undefined` when nothing is there. */
  readonly stat?: Stats;
}

/**
 * Resolves `path` inside the tenant's workspace, or refuses: `PATH_OUTSIDE_WORKSPACE` for a
 * path that leads out of it (or is the workspace itself), `SYMLINK_ESCAPE` for a folder or link
 * on the way that points out of it. Act on the entry with `removeEntry` or `openEntry`, which
 * check its folder again as they use it.
 */
export async function inWorkspace(workspaceDir: string, tenant: Tenant, path: string): Promise<WorkspaceEntry> {
  const workspace = join(workspaceDir, tenant.org_id, tenant.project_id);
  await mkdir(workspace, { recursive: true });
  const root = await realpath(workspace);
  const requested = resolve(root, path);
  if (isAbsolute(path) || !isInside(root, requested) || requested === root) {
    throw new TaskFailure('PATH_OUTSIDE_WORKSPACE', `${path} is not inside the workspace`);
  }
  // Resolve the parent for real, so a symlinked folder cannot lead outside.
  const parent = await realpath(dirname(requested)).catch(() => undefined);
  if (parent === undefined) return { root, target: requested };
  if (!isInside(root, parent)) throw new TaskFailure('SYMLINK_ESCAPE', `${path} leads outside the workspace`);
  const target = resolve(parent, basename(requested));
  const stat = await lstat(target).catch(() => undefined);
  if (stat?.isSymbolicLink()) {
    const pointsTo = await realpath(target).catch(async () => resolve(parent, await readlink(target)));
    if (!isInside(root, pointsTo))
      throw new TaskFailure('SYMLINK_ESCAPE', `${path} is a link to outside the workspace`);
  }
  return stat ? { root, target, stat } : { root, target };
}

/** Deletes a resolved entry through its pinned folder (a link is deleted, never followed). */
export async function removeEntry(entry: WorkspaceEntry, options: { recursive: boolean }): Promise<void> {
  await withPinnedDir(dirname(entry.target), entry.root, (child) =>
    rm(child(basename(entry.target)), { recursive: options.recursive, force: false }),
  );
}

/** A regular file of the workspace, open for reading; close `handle` when done. */
export interface WorkspaceFile {
  readonly name: string;
  readonly handle: FileHandle;
  /** Its size when opened. */
  readonly bytes: number;
}

// O_NONBLOCK: a FIFO swapped in for the file must not block the open; it is then refused.
const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Opens a resolved entry through its pinned folder: `NOT_A_FILE` unless it is a regular file then. */
export async function openEntry(entry: WorkspaceEntry): Promise<WorkspaceFile> {
  const name = basename(entry.target);
  const notAFile = () => new TaskFailure('NOT_A_FILE', `${name} is not a file in the workspace`);
  return withPinnedDir(dirname(entry.target), entry.root, async (child) => {
    const handle = await open(child(name), FILE_FLAGS).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ELOOP' || error.code === 'ENOENT' ? notAFile() : error;
    });
    const stat = await handle.stat();
    if (stat.isFile()) return { name, handle, bytes: stat.size };
    await handle.close();
    throw notAFile();
  });
}
