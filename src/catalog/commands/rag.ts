import { z } from 'zod';
import { RagIndex, RagPathError, ragIndexFile } from '../../rag/rag-index.js';
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
 * GREEN: indexes the configured folder's `.md` and `.txt` files (or one subfolder of it) into the
 * tenant's full-text index; only files whose content changed are indexed again, and files that
 * are gone are forgotten.
 *
 * @example
 *   ragIngest({ folder: '/data/gdrive_mirror', indexDir: join(config.dataDir, 'rag') })
 *   // params { path: 'recipes' } → { path: 'recipes', files_seen: 12, files_indexed: 1, files_unchanged: 11, ... }
 */
export function ragIngest(settings: RagSettings) {
  return defineCommand({
    type: 'rag.ingest',
    risk: 'GREEN',
    description: 'Index the RAG folder (text and markdown files) for rag.query; unchanged files are skipped',
    params: z.object({
      path: z
        .string()
        .max(4096)
        .refine((p) => !p.includes('\0'), 'must not contain NUL')
        .optional()
        .describe('A folder relative to RAG_AUTO_INGEST_PATH; the whole folder when absent'),
    }),
    handler: async ({ path }, { tenant, signal, logger, progress }) => {
      if (!settings.folder) throw new TaskFailure('HANDLER_UNAVAILABLE', 'no RAG folder is configured (RAG_AUTO_INGEST_PATH)');
      const index = RagIndex.open(ragIndexFile(settings.indexDir, tenant));
      try {
        const counts = await index.ingest(settings.folder, { signal, ...(path === undefined ? {} : { under: path }) });
        logger.info(counts, 'rag folder ingested');
        await progress({ percent: 100, message: `${counts.files_indexed} indexed, ${counts.files_unchanged} unchanged, ${counts.files_removed} removed` });
        return { path: path ?? '.', ...counts };
      } catch (error) {
        if (signal.aborted) throw error;
        if (error instanceof RagPathError) throw new TaskFailure(error.reason === 'outside' ? 'PATH_OUTSIDE_FOLDER' : 'PATH_NOT_FOUND', error.message);
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new TaskFailure('RAG_FOLDER_UNAVAILABLE', `the RAG folder cannot be read: ${(error as Error).message}`, true);
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
