import { realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { tenantKey, tenantMatches, type Tenant } from '../../events/tenant.js';
import { RagPathError } from '../../rag/rag-folder.js';
import { RagIndex, ragIndexFile } from '../../rag/rag-index.js';
import { defineCommand, TaskFailure } from '../define-command.js';

/** Where RAG reads from and keeps its indexes. */
export interface RagSettings {
  /** The folder `rag.ingest` reads (RAG_AUTO_INGEST_PATH). Absent: `rag.ingest` refuses to run. */
  readonly folder?: string;
  /** One SQLite index per tenant under it: `<indexDir>/<org>/<project>.db`. */
  readonly indexDir: string;
  /** `org/project` patterns (`*` allowed) of the tenants that read the whole folder; the others read `<folder>/<org>/<project>`. */
  readonly wholeFolderTenants: readonly string[];
}

/**
 * The folder a tenant's `rag.ingest` reads: the whole RAG folder for the tenants granted it, its
 * own `<folder>/<org>/<project>` for the others (tenant ids hold no `/` and start with no `.`),
 * which must be a real folder, not a link to another tenant's or out of the RAG folder. A
 * tenant without its own folder fails for good; a RAG folder that is itself missing throws
 * ENOENT, which the handler calls retryable (an unmounted drive).
 */
async function tenantFolder(folder: string, wholeFolderTenants: readonly string[], tenant: Tenant): Promise<string> {
  if (tenantMatches(wholeFolderTenants, tenant)) return folder;
  const own = join(await realpath(folder), tenant.org_id, tenant.project_id);
  const real = await realpath(own).catch(() => undefined);
  if (real === undefined || !(await stat(real)).isDirectory()) {
    throw new TaskFailure(
      'RAG_TENANT_FOLDER_NOT_FOUND',
      `the RAG folder has no folder ${tenantKey(tenant)} for this tenant (an admin creates it, or grants the whole folder in RAG_WHOLE_FOLDER_TENANTS)`,
    );
  }
  if (real !== own)
    throw new TaskFailure(
      'PATH_OUTSIDE_FOLDER',
      `the folder ${tenantKey(tenant)} of the RAG folder is a link, not a folder of its own`,
    );
  return own;
}

/**
 * GREEN: indexes the `.md` and `.txt` files of the tenant's folder in the RAG folder (or one
 * subfolder of it) into the tenant's full-text index; only files whose content changed are
 * indexed again, and files that are gone are forgotten. A tenant reads `<folder>/<org>/<project>`
 * unless `wholeFolderTenants` grants it the whole folder.
 *
 * @example
 *   ragIngest({ folder: '/data/gdrive_mirror', indexDir: join(config.dataDir, 'rag'), wholeFolderTenants: ['default/nexus'] })
 *   // acme/web, params { path: 'recipes' } → reads /data/gdrive_mirror/acme/web/recipes
 *   //   → { path: 'recipes', files_seen: 12, files_indexed: 1, files_unchanged: 11, ... }
 */
export function ragIngest(settings: RagSettings) {
  return defineCommand({
    type: 'rag.ingest',
    risk: 'GREEN',
    description: "Index the tenant's RAG folder (text and markdown files) for rag.query; unchanged files are skipped",
    params: z.object({
      path: z
        .string()
        .max(4096)
        .refine((p) => !p.includes('\0'), 'must not contain NUL')
        .optional()
        .describe(
          "A folder relative to the tenant's folder (RAG_AUTO_INGEST_PATH/<org>/<project>, or the whole RAG_AUTO_INGEST_PATH when granted); all of it when absent",
        ),
    }),
    handler: async ({ path }, { tenant, signal, logger, progress }) => {
      if (!settings.folder)
        throw new TaskFailure('HANDLER_UNAVAILABLE', 'no RAG folder is configured (RAG_AUTO_INGEST_PATH)');
      const index = RagIndex.open(ragIndexFile(settings.indexDir, tenant));
      try {
        const root = await tenantFolder(settings.folder, settings.wholeFolderTenants, tenant);
        const counts = await index.ingest(root, { signal, ...(path === undefined ? {} : { under: path }) });
        logger.info(counts, 'rag folder ingested');
        await progress({
          percent: 100,
          message: `${counts.files_indexed} indexed, ${counts.files_unchanged} unchanged, ${counts.files_removed} removed`,
        });
        return { path: path ?? '.', ...counts };
      } catch (error) {
        if (signal.aborted) throw error;
        if (error instanceof RagPathError)
          throw new TaskFailure(error.reason === 'outside' ? 'PATH_OUTSIDE_FOLDER' : 'PATH_NOT_FOUND', error.message);
        if ((error as NodeJS.ErrnoException).code === 'ENOENT')
          throw new TaskFailure(
            'RAG_FOLDER_UNAVAILABLE',
            `the RAG folder cannot be read: ${(error as Error).message}`,
            true,
          );
        throw error;
      } finally {
        index.close();
      }
    },
  });
}

/**
 * GREEN: the passages of the tenant's index that best match `query` (BM25), best first, each with
 * its file, its text and a snippet with the matched terms in `**`.
 *
 * @example
 *   ragQuery({ indexDir: join(config.dataDir, 'rag') })
 *   // params { query: 'how long to proof dough', limit: 3 } → { query, passages: [{ path, ordinal, text, score, snippet }] }
 */
export function ragQuery(settings: RagSettings) {
  return defineCommand({
    type: 'rag.query',
    risk: 'GREEN',
    description: 'Find the passages of the ingested documents that best match a query',
    params: z.object({
      query: z.string().min(1).max(2000),
      limit: z.number().int().min(1).max(50).default(5),
    }),
    handler: ({ query, limit }, { tenant }) => {
      const index = RagIndex.open(ragIndexFile(settings.indexDir, tenant));
      try {
        return { query, passages: index.query(query, limit) };
      } finally {
        index.close();
      }
    },
  });
}
