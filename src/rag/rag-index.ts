import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import Database from 'better-sqlite3';
import type { Tenant } from '../events/tenant.js';
import { chunkText } from './chunk-text.js';
import { startFolder, walk } from './rag-folder.js';

/** What one `ingest` did. Files of other types are not counted at all. */
export interface IngestCounts {
  /** `.md` and `.txt` files found. */
  files_seen: number;
  /** New or changed (content hash), chunked and indexed again. */
  files_indexed: number;
  files_unchanged: number;
  /** Indexed before, gone from the folder now. */
  files_removed: number;
  /** Refused: a link leading out of the folder (or nowhere), a file larger than `maxFileBytes`, unreadable or not text (NUL bytes). */
  files_skipped: number;
  /** Passages written by this ingest. */
  chunks_indexed: number;
}

export interface Passage {
  /** Relative to the ingested folder, `/`-separated. */
  readonly path: string;
  /** The passage's place in its file, from 0. */
  readonly ordinal: number;
  readonly text: string;
  /** BM25 relevance, higher is better (FTS5's `bm25()` negated). */
  readonly score: number;
  /** Around the matched terms, which are wrapped in `**`. */
  readonly snippet: string;
}

export interface IngestOptions {
  /** Only this folder (relative to the root) is walked, and only documents under it can be removed. */
  readonly under?: string;
  readonly signal?: AbortSignal;
  readonly maxFileBytes?: number;
}

/** Where a tenant's index lives: `<indexDir>/<org>/<project>.db` (tenant ids cannot hold `/` or start with `.`). */
export const ragIndexFile = (indexDir: string, tenant: Tenant): string =>
  join(indexDir, tenant.org_id, `${tenant.project_id}.db`);

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL,
    mtime_ms REAL NOT NULL,
    size INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id),
    ordinal INTEGER NOT NULL,
    text TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks(document_id);
  CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, content = 'chunks', content_rowid = 'id', tokenize = 'porter unicode61 remove_diacritics 2'
  );
  CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
  END;
  CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
  END;
`;

/**
 * A tenant's full-text index of a folder of text and markdown files: SQLite FTS5 (BM25 ranking)
 * over passages of about 800 characters. `ingest` re-indexes only files whose content changed
 * and forgets files that are gone, one transaction per file, so an interrupted ingest leaves a
 * consistent index and the next one carries on.
 *
 * @example
 *   const index = RagIndex.open(ragIndexFile(indexDir, tenant));
 *   try {
 *     await index.ingest('/data/notes');
 *     index.query('sourdough starter', 5); // → [{ path: 'bread/starter.md', snippet: 'feed the **starter** …', ... }]
 *   } finally {
 *     index.close();
 *   }
 */
export class RagIndex {
  private constructor(private readonly db: Database.Database) {}

  static open(file: string): RagIndex {
    mkdirSync(dirname(file), { recursive: true });
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    return new RagIndex(db);
  }

  close(): void {
    this.db.close();
  }

  async ingest(root: string, options: IngestOptions = {}): Promise<IngestCounts> {
    const counts: IngestCounts = {
      files_seen: 0,
      files_indexed: 0,
      files_unchanged: 0,
      files_removed: 0,
      files_skipped: 0,
      chunks_indexed: 0,
    };
    const realRoot = await realpath(root);
    const start = await startFolder(realRoot, options.under);
    const prefix = relative(realRoot, start).split(sep).join('/');
    const seen = new Set<string>();
    for await (const file of walk(realRoot, start, () => counts.files_skipped++)) {
      options.signal?.throwIfAborted();
      counts.files_seen++;
      // A file that vanished or cannot be read since the folder was listed is skipped (and so forgotten).
      const info = await stat(file.real).catch(() => undefined);
      const content =
        info && info.size <= (options.maxFileBytes ?? 5_000_000)
          ? await readFile(file.real).catch(() => undefined)
          : undefined;
      if (!info || !content || content.includes(0)) {
        counts.files_skipped++;
        continue;
      }
      seen.add(file.path);
      const written = this.indexFile(file.path, content, info.mtimeMs);
      if (written === undefined) counts.files_unchanged++;
      else {
        counts.files_indexed++;
        counts.chunks_indexed += written;
      }
    }
    const documents = this.db.prepare('SELECT id, path FROM documents').all() as Array<{ id: number; path: string }>;
    for (const document of documents) {
      const inScope = prefix === '' || document.path.startsWith(`${prefix}/`);
      if (inScope && !seen.has(document.path)) {
        this.removeDocument(document.id);
        counts.files_removed++;
      }
    }
    return counts;
  }

  /** The best passages for `text`, best first. Any text is safe: it is reduced to quoted terms, any of which may match. */
  query(text: string, limit: number): Passage[] {
    const match = matchExpression(text);
    if (match === undefined) return [];
    const rows = this.db
      .prepare(
        `SELECT d.path AS path, c.ordinal AS ordinal, c.text AS text, -bm25(chunks_fts) AS score,
                snippet(chunks_fts, 0, '**', '**', '…', 32) AS snippet
           FROM chunks_fts
           JOIN chunks c ON c.id = chunks_fts.rowid
           JOIN documents d ON d.id = c.document_id
          WHERE chunks_fts MATCH ?
          ORDER BY bm25(chunks_fts), d.path, c.ordinal
          LIMIT ?`,
      )
      .all(match, limit) as Passage[];
    return rows;
  }

  /** Writes the file's passages unless its content is unchanged: answers how many, or `undefined` for unchanged. */
  private indexFile(path: string, content: Buffer, mtimeMs: number): number | undefined {
    const sha256 = createHash('sha256').update(content).digest('hex');
    return this.db
      .transaction(() => {
        const existing = this.db.prepare('SELECT id, sha256 FROM documents WHERE path = ?').get(path) as
          { id: number; sha256: string } | undefined;
        if (existing?.sha256 === sha256) {
          this.db.prepare('UPDATE documents SET mtime_ms = ? WHERE id = ?').run(mtimeMs, existing.id);
          return undefined;
        }
        let id: number;
        if (existing) {
          this.db.prepare('DELETE FROM chunks WHERE document_id = ?').run(existing.id);
          this.db
            .prepare('UPDATE documents SET sha256 = ?, mtime_ms = ?, size = ? WHERE id = ?')
            .run(sha256, mtimeMs, content.length, existing.id);
          id = existing.id;
        } else {
          id = Number(
            this.db
              .prepare('INSERT INTO documents (path, sha256, mtime_ms, size) VALUES (?, ?, ?, ?)')
              .run(path, sha256, mtimeMs, content.length).lastInsertRowid,
          );
        }
        const insert = this.db.prepare('INSERT INTO chunks (document_id, ordinal, text) VALUES (?, ?, ?)');
        const passages = chunkText(content.toString('utf8'));
        passages.forEach((passage, ordinal) => insert.run(id, ordinal, passage));
        return passages.length;
      })
      .immediate(); // take the write lock first: a concurrent ingest waits (busy_timeout) instead of failing
  }

  private removeDocument(id: number): void {
    this.db
      .transaction(() => {
        this.db.prepare('DELETE FROM chunks WHERE document_id = ?').run(id);
        this.db.prepare('DELETE FROM documents WHERE id = ?').run(id);
      })
      .immediate();
  }
}

/**
 * Turns a user's text into a safe FTS5 MATCH expression: its words (letters, digits, as the
 * unicode61 tokenizer splits them), each quoted, joined by OR; `undefined` when there are none.
 * No FTS5 syntax (`"`, `*`, `NEAR(`, `AND`, column filters) survives as syntax.
 */
export function matchExpression(text: string): string | undefined {
  const terms = [...new Set(text.toLowerCase().match(/[\p{L}\p{N}\p{Mn}\p{Mc}]+/gu) ?? [])].slice(0, 64);
  return terms.length === 0 ? undefined : terms.map((term) => `"${term}"`).join(' OR ');
}
