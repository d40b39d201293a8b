// The RAG folder as an ingest walks it: where it starts, and the text files under it.
import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** A path given to `ingest` that is not a folder inside the root. */
export class RagPathError extends Error {
  constructor(
    readonly path: string,
    readonly reason: 'outside' | 'missing',
  ) {
    super(reason === 'outside' ? `${path} is not inside the RAG folder` : `${path} is not a folder in the RAG folder`);
    this.name = 'RagPathError';
  }
}

/** The files an ingest reads; others are not even counted. */
const TEXT_EXTENSIONS = new Set(['.md', '.txt']);

const isInside = (root: string, path: string): boolean => {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

/** Where an ingest under `under` starts: a real folder inside the root, or `RagPathError`. */
export async function startFolder(realRoot: string, under: string | undefined): Promise<string> {
  if (under === undefined || under === '' || under === '.') return realRoot;
  if (isAbsolute(under) || !isInside(realRoot, resolve(realRoot, under))) throw new RagPathError(under, 'outside');
  const real = await realpath(resolve(realRoot, under)).catch(() => undefined);
  if (real === undefined || !(await stat(real)).isDirectory()) throw new RagPathError(under, 'missing');
  if (!isInside(realRoot, real)) throw new RagPathError(under, 'outside');
  return real;
}

export interface FoundFile {
  /** Relative to the root, `/`-separated: the document's name in the index. */
  readonly path: string;
  readonly real: string;
}

/**
 * The `.md`/`.txt` files under `start`, in name order. Links are followed only when they lead
 * to a place inside the root (others, whatever they point to, count as skipped); each real file and folder is visited
 * once; names starting with `.` (`.git`, `.obsidian`) are left out.
 */
export async function* walk(realRoot: string, start: string, skipped: () => void): AsyncGenerator<FoundFile> {
  const visited = new Set<string>([start]);
  const files = new Set<string>();
  async function* folder(real: string, path: string): AsyncGenerator<FoundFile> {
    const entries = (await readdir(real, { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const name = path === '' ? entry.name : `${path}/${entry.name}`;
      let target = join(real, entry.name);
      let isDirectory = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const resolved = await realpath(target).catch(() => undefined);
        if (resolved === undefined || !isInside(realRoot, resolved)) {
          skipped();
          continue;
        }
        const info = await stat(resolved);
        target = resolved;
        isDirectory = info.isDirectory();
        isFile = info.isFile();
      }
      if (isDirectory && !visited.has(target)) {
        visited.add(target);
        yield* folder(target, name);
      } else if (isFile && TEXT_EXTENSIONS.has(extname(entry.name).toLowerCase()) && !files.has(target)) {
        files.add(target);
        yield { path: name, real: target };
      }
    }
  }
  yield* folder(start, relative(realRoot, start).split(sep).join('/'));
}
