import { z } from 'zod';
import type { ShareStore } from '../../shares/share-store.js';
import { defineCommand, TaskFailure } from '../define-command.js';
import { inWorkspace, workspacePath } from '../workspace.js';

/**
 * RED: packages files of the tenant's workspace into the outbox and issues an expiring share
 * link, served by NEXUS at `/shares/<token>`. Runs only once approved.
 */
export function externalSharePrepare(deps: { shares: ShareStore; workspaceDir: string; publicUrl: () => string; now: () => Date }) {
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
      const sources = [];
      for (const path of files) {
        const { target, stat } = await inWorkspace(deps.workspaceDir, tenant, path);
        if (!stat?.isFile()) throw new TaskFailure('NOT_A_FILE', `${path} is not a file in the workspace`);
        sources.push({ source: target });
      }
      const now = deps.now().getTime();
      const expiresAt = new Date(now + expires_in_hours * 3_600_000).toISOString();
      const { token, manifest } = await deps.shares.create({
        recipient,
        ...(message === undefined ? {} : { message }),
        files: sources,
        created_at: new Date(now).toISOString(),
        expires_at: expiresAt,
        tenant,
        command_id,
      });
      return { share_url: `${deps.publicUrl()}/shares/${token}`, recipient, expires_at: expiresAt, files: manifest.files };
    },
  });
}
