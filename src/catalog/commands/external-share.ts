import { z } from 'zod';
import { OutboxFullError } from '../../shares/outbox.js';
import type { ShareStore } from '../../shares/share-store.js';
import { defineCommand, TaskFailure } from '../define-command.js';
import { inWorkspace, openEntry, workspacePath, type WorkspaceFile } from '../workspace.js';

/**
 * RED: packages files of the tenant's workspace into its outbox as an expiring share. Runs only
 * once approved. The result names the share (`share_id`) but never carries its link, a
 * credential: the tenant's keys get it from `GET /agent/shares/<command_id>`.
 */
export function externalSharePrepare(deps: { shares: ShareStore; workspaceDir: string; now: () => Date }) {
  return defineCommand({
    type: 'external_share.prepare',
    risk: 'RED',
    description: 'Package data for an external recipient and issue an expiring share link',
    params: z.object({
      recipient: z.email(),
      files: z.array(workspacePath).max(100).default([]),
      message: z.string().max(5000).optional(),
      expires_in_hours: z.number().int().positive().max(720).default(72),
    }),
    handler: async ({ recipient, files, message, expires_in_hours }, { tenant, command_id }) => {
      const opened: WorkspaceFile[] = [];
      try {
        for (const path of files) {
          const entry = await inWorkspace(deps.workspaceDir, tenant, path);
          if (!entry.stat?.isFile()) throw new TaskFailure('NOT_A_FILE', `${path} is not a file in the workspace`);
          opened.push(await openEntry(entry));
        }
        const now = deps.now().getTime();
        const manifest = await deps.shares.create({
          recipient,
          ...(message === undefined ? {} : { message }),
          files: opened,
          created_at: new Date(now).toISOString(),
          expires_at: new Date(now + expires_in_hours * 3_600_000).toISOString(),
          tenant,
          command_id,
        });
        return { share_id: manifest.share_id, recipient, expires_at: manifest.expires_at, files: manifest.files };
      } catch (error) {
        throw error instanceof OutboxFullError ? new TaskFailure('OUTBOX_FULL', error.message) : error;
      } finally {
        await Promise.all(opened.map((file) => file.handle.close()));
      }
    },
  });
}
