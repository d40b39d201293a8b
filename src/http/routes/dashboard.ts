import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Hono, type Context } from 'hono';
import type { AppEnv } from '../app-env.js';

/** The dashboard's sources (`web/dashboard`), found from this file in `src/` or `dist/src/`. */
function sourceDir(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'web', 'dashboard');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
  }
  throw new Error('web/dashboard not found beside NEXUS');
}

interface Asset {
  readonly body: string;
  readonly type: string;
}

/** Bundles the page once, on first request, from the TypeScript in the repository: no CDN, nothing fetched. */
async function bundle(dir: string): Promise<Map<string, Asset>> {
  const built = await build({
    entryPoints: [join(dir, 'main.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const script = built.outputFiles[0]!.text;
  return new Map([
    ['/dashboard', { body: await readFile(join(dir, 'index.html'), 'utf8'), type: 'text/html; charset=utf-8' }],
    ['/dashboard/app.js', { body: script, type: 'text/javascript; charset=utf-8' }],
    ['/dashboard/app.css', { body: await readFile(join(dir, 'app.css'), 'utf8'), type: 'text/css; charset=utf-8' }],
  ]);
}

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** `GET /` and `/dashboard`: the operator's page. Its data comes from the API, under a session cookie. */
export function dashboardRoutes() {
  let assets: Promise<Map<string, Asset>> | undefined;
  const serve = (path: string) => async (c: Context<AppEnv>) => {
    assets ??= bundle(sourceDir()).catch((error: unknown) => {
      assets = undefined;
      throw error;
    });
    const asset = (await assets).get(path)!;
    return c.body(asset.body, 200, { 'content-type': asset.type, ...SECURITY_HEADERS });
  };
  return new Hono<AppEnv>()
    .get('/', (c) => c.redirect('/dashboard', 302))
    .get('/dashboard', serve('/dashboard'))
    .get('/dashboard/app.js', serve('/dashboard/app.js'))
    .get('/dashboard/app.css', serve('/dashboard/app.css'));
}
