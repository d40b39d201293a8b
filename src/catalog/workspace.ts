import type { Stats } from 'node:fs';
import { lstat, mkdir, readlink, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import type { Tenant } from '../events/tenant.js';
import { TaskFailure } from './define-command.js';

const isInside = (root: string, path: string): boolean => {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

/** A path as params give it: relative to the tenant's workspace. */
export const workspacePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.includes('\0'), 'must not contain NUL')
  .describe("Relative to the tenant's workspace, NEXUS_WORKSPACE_DIR/<org>/<project>");

export interface WorkspaceEntry {
  /** The real path, its folders resolved. */
  readonly target: string;
  /** `undefined` when nothing is there. */
  readonly stat?: Stats;
}

/**
 * Resolves `path` inside the tenant's workspace, or refuses: `PATH_OUTSIDE_WORKSPACE` for a
 * path that leads out of it (or is the workspace itself), `SYMLINK_ESCAPE` for a folder or link
 * on the way that points out of it.
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
  if (parent === undefined) return { target: requested };
  if (!isInside(root, parent)) throw new TaskFailure('SYMLINK_ESCAPE', `${path} leads outside the workspace`);
  const target = resolve(parent, basename(requested));
  const stat = await lstat(target).catch(() => undefined);
  if (stat?.isSymbolicLink()) {
    const pointsTo = await realpath(target).catch(async () => resolve(parent, await readlink(target)));
    if (!isInside(root, pointsTo)) throw new TaskFailure('SYMLINK_ESCAPE', `${path} is a link to outside the workspace`);
  }
  return stat ? { target, stat } : { target };
}
