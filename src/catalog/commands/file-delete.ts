import { z } from 'zod';
import { defineCommand, TaskFailure } from '../define-command.js';
import { inWorkspace, removeEntry, workspacePath } from '../workspace.js';

/**
 * YELLOW: deletes a file or folder inside the tenant's workspace
 * (`<workspaceDir>/<org>/<project>`), and nothing outside it.
 */
export function fileDelete(workspaceDir: string) {
  return defineCommand({
    type: 'file.delete',
    risk: 'YELLOW',
    description: 'Delete a file (or, with recursive, a folder) inside the workspace',
    params: z.object({ path: workspacePath, recursive: z.boolean().default(false) }),
    handler: async ({ path, recursive }, { tenant }) => {
      const entry = await inWorkspace(workspaceDir, tenant, path);
      const { stat } = entry;
      if (!stat) return { path, deleted: false, reason: 'not_found' };
      if (stat.isDirectory() && !recursive) {
        throw new TaskFailure('IS_A_DIRECTORY', `${path} is a folder; send recursive: true to delete it`);
      }
      await removeEntry(entry, { recursive: stat.isDirectory() });
      return {
        path,
        deleted: true,
        kind: stat.isDirectory() ? 'directory' : stat.isSymbolicLink() ? 'symlink' : 'file',
        bytes: stat.size,
      };
    },
  });
}
