// Bundles the dashboard (web/dashboard) into the folder the server reads it from, once, at build
// time: `npm run build` and `npm run dev` run it, and vitest runs it before the tests (globalSetup).
//   npx tsx scripts/build-dashboard.ts
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { BUILT_DASHBOARD, DASHBOARD_FILES } from '../src/http/routes/dashboard.js';

const SOURCE = fileURLToPath(new URL('../web/dashboard/', import.meta.url));

/** The page's files by name: the script (with the projections it imports from src/), the style, the HTML. */
async function bundle(): Promise<Map<string, string>> {
  const built = await build({
    entryPoints: [
      { in: join(SOURCE, 'main.ts'), out: 'app' },
      { in: join(SOURCE, 'app.css'), out: 'app' },
    ],
    outdir: '/',
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const files = new Map(built.outputFiles.map((output) => [output.path.slice(1), output.text]));
  files.set('index.html', await readFile(join(SOURCE, 'index.html'), 'utf8'));
  return files;
}

/** Writes a file whole or not at all (a server starting meanwhile never reads half of it); an unchanged file is left alone. */
async function replace(path: string, text: string): Promise<void> {
  if ((await readFile(path, 'utf8').catch(() => undefined)) === text) return;
  const partial = `${path}.${randomUUID()}.tmp`;
  await writeFile(partial, text);
  await rename(partial, path);
}

/**
 * Builds the dashboard into `outDir` (the server's `BUILT_DASHBOARD` unless given) and returns
 * each file's size in bytes.
 *
 * @example
 *   await buildDashboard(); // dist/web/dashboard/{index.html,app.js,app.css}
 */
export async function buildDashboard(outDir = BUILT_DASHBOARD): Promise<Map<string, number>> {
  const files = await bundle();
  const expected = Object.values(DASHBOARD_FILES).map((f) => f.file);
  const names = [...files.keys()];
  if (names.length !== expected.length || !expected.every((name) => files.has(name))) {
    throw new Error(`the dashboard build made ${names.join(', ')}, not ${expected.join(', ')}`);
  }
  await mkdir(outDir, { recursive: true });
  await Promise.all(names.map((name) => replace(join(outDir, name), files.get(name)!)));
  return new Map(names.map((name) => [name, Buffer.byteLength(files.get(name)!)]));
}

/** vitest's globalSetup: the tests serve the page from sources, so it is built before they start. */
export async function setup(): Promise<void> {
  await buildDashboard();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const sizes = await buildDashboard();
  const listed = [...sizes].map(([name, bytes]) => `${name} ${(bytes / 1024).toFixed(1)} kB`).join(', ');
  process.stdout.write(`dashboard → ${BUILT_DASHBOARD}: ${listed}\n`);
}
