import { lstat, mkdir, readlink, realpath, rm } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { defineCommand, TaskFailure } from '../define-command.js';

const isInside = (root: string, path: string): boolean => {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

/**
 * YELLOW: deletes a file or folder inside the tenant's workspace
 * (`<workspaceDir>/<org>/<project>`), and nothing outside it.
 */
export function fileDelete(workspaceDir: string) {
  return defineCommand({
    type: 'file.delete',
    risk: 'YELLOW',
    description: 'Delete a file (or, with recursive, a folder) inside the workspace',
    params: z.object({
      path: z
        .string()
        .min(1)
        .max(4096)
        .refine((p) => !p.includes('\0'), 'must not contain NUL')
        .describe("Relative to the tenant's workspace, NEXUS_WORKSPACE_DIR/<org>/<project>"),
      recursive: z.boolean().default(false),
    }),
    handler: async ({ path, recursive }, { tenant }) => {
      const workspace = join(workspaceDir, tenant.org_id, tenant.project_id);
      await mkdir(workspace, { recursive: true });
      const root = await realpath(workspace);
      const requested = resolve(root, path);
      if (isAbsolute(path) || !isInside(root, requested) || requested === root) {
        throw new TaskFailure('PATH_OUTSIDE_WORKSPACE', `${path} is not inside the workspace`);
      }
      // Resolve the parent for real, so a symlinked folder cannot lead outside.
      const parent = await realpath(dirname(requested)).catch(() => undefined);
      if (parent === undefined) return { path, deleted: false, reason: 'not_found' };
      if (!isInside(root, parent)) throw new TaskFailure('SYMLINK_ESCAPE', `${path} leads outside the workspace`);
      const target = resolve(parent, basename(requested));
      const stat = await lstat(target).catch(() => undefined);
      if (!stat) return { path, deleted: false, reason: 'not_found' };
      if (stat.isSymbolicLink()) {
        const pointsTo = await realpath(target).catch(async () => resolve(parent, await readlink(target)));
        if (!isInside(root, pointsTo)) throw new TaskFailure('SYMLINK_ESCAPE', `${path} is a link to outside the workspace`);
      }
      if (stat.isDirectory() && !recursive) {
        throw new TaskFailure('IS_A_DIRECTORY', `${path} is a folder; send recursive: true to delete it`);
      }
      await rm(target, { recursive: stat.isDirectory(), force: false });
      return { path, deleted: true, kind: stat.isDirectory() ? 'directory' : stat.isSymbolicLink() ? 'symlink' : 'file', bytes: stat.size };
    },
  });
}
