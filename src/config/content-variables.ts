import { z } from 'zod';
import { codeList, flag, int, variable, type Variable } from './variable.js';

/** YouTube search and the RAG index. */
export const contentVariables = {
  YOUTUBE_API_KEY: variable(
    'OPTIONAL',
    z.string().min(1).optional(),
    'YouTube Data API v3 key for youtube.search (sent in the x-goog-api-key header, never in a URL). Unset: youtube.search fails with HANDLER_UNAVAILABLE.',
    '',
    'secret',
  ),
  YOUTUBE_DEFAULT_REGION: variable(
    'OPTIONAL',
    z
      .string()
      .regex(/^[A-Za-z]{2}$/, 'must be a two-letter region code')
      .optional(),
    'regionCode for youtube.search when the command gives none, e.g. KR.',
  ),
  YOUTUBE_DEFAULT_LANGUAGE: variable(
    'OPTIONAL',
    z.string().min(2).max(16).optional(),
    'relevanceLanguage for youtube.search when the command gives none, e.g. ko.',
  ),
  YOUTUBE_BASE_URL: variable(
    'ADVANCED',
    z.url().default('https://www.googleapis.com/youtube/v3'),
    'Where the YouTube Data API is (a proxy, or a test server).',
    'https://www.googleapis.com/youtube/v3',
  ),
  RAG_AUTO_INGEST_ENABLED: variable(
    'OPTIONAL',
    flag('false'),
    'Ingest RAG_AUTO_INGEST_PATH every day at RAG_AUTO_INGEST_HOUR:RAG_AUTO_INGEST_MINUTE (changed files only).',
    'false',
  ),
  RAG_AUTO_INGEST_TENANT: variable(
    'OPTIONAL',
    z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\/[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be org/project')
      .default('default/nexus'),
    'The tenant (org/project) whose index the daily ingest fills.',
    'default/nexus',
  ),
  RAG_AUTO_INGEST_PATH: variable(
    'OPTIONAL',
    z.string().min(1).optional(),
    'The folder rag.ingest reads (text and markdown files), e.g. /data/gdrive_mirror: each tenant reads only its <org>/<project> folder inside it, but for RAG_WHOLE_FOLDER_TENANTS.',
  ),
  RAG_WHOLE_FOLDER_TENANTS: variable(
    'OPTIONAL',
    z
      .string()
      .optional()
      .transform((text) => (text === undefined ? undefined : codeList(text)))
      .pipe(
        z
          .array(
            z
              .string()
              .regex(
                /^(\*|[A-Za-z0-9][A-Za-z0-9._-]{0,63})\/(\*|[A-Za-z0-9][A-Za-z0-9._-]{0,63})$/,
                'must list org/project (* allowed)',
              ),
          )
          .optional(),
      ),
    'Tenants (org/project, * allowed, comma-separated) whose rag.ingest reads the whole RAG_AUTO_INGEST_PATH. Default: RAG_AUTO_INGEST_TENANT.',
  ),
  RAG_AUTO_INGEST_HOUR: variable('OPTIONAL', int(0, 23, 3), 'Hour (local time) of the daily ingest.', '3'),
  RAG_AUTO_INGEST_MINUTE: variable('OPTIONAL', int(0, 59, 0), 'Minute of the daily ingest.', '0'),
} satisfies Record<string, Variable>;
