import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono, type Context } from 'hono';
import type { Logger } from '../../observability/logger.js';
import type { AppEnv } from '../app-env.js';
import { RequestError } from '../errors.js';

/**
 * Where `npm run build` puts the page (scripts/build-dashboard.ts): `dist/web/dashboard`, beside
 * `dist/src`, whether this module runs compiled (`dist/src/http/routes`) or from its source
 * through tsx (`src/http/routes`).
 */
export const BUILT_DASHBOARD = fileURLToPath(
  new URL(
    import.meta.url.endsWith('.ts') ? '../../../dist/web/dashboard/' : '../../../web/dashboard/',
    import.meta.url,
  ),
);

/** What the page is made of: the path it is served at → the built file and its content type. */
export const DASHBOARD_FILES = {
  '/dashboard': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
} as const;

type DashboardPath = keyof typeof DASHBOARD_FILES;

interface Asset {
  readonly body: string;
  readonly type: string;
  readonly etag: string;
}

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** Reads the built files once; throws if one is missing. */
function load(dir: string): Map<string, Asset> {
  return new Map(
    Object.entries(DASHBOARD_FILES).map(([path, { file, type }]) => {
      const body = readFileSync(join(dir, file), 'utf8');
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
      return [path, { body, type, etag }];
    }),
  );
}

const matches = (ifNoneMatch: string | undefined, etag: string) =>
  ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => ['*', etag, `W/${etag}`].includes(tag.trim()));

export interface DashboardOptions {
  /** The built page; `BUILT_DASHBOARD` unless given. */
  readonly dir?: string;
  /** Told once, when the routes are made, that the page is not built. */
  readonly logger?: Pick<Logger, 'error'>;
}

/**
 * `GET /` and `/dashboard`: the operator's page, built by `npm run build` and read once from
 * `dir`; its data comes from the API, under a session cookie. Nothing is compiled here: when the
 * page is not built, its paths answer 500 `dashboard_not_built`.
 *
 * @example
 *   app.route('/', dashboardRoutes({ logger }));
 */
export function dashboardRoutes(options: DashboardOptions = {}) {
  const dir = options.dir ?? BUILT_DASHBOARD;
  let assets: Map<string, Asset> | undefined;
  try {
    assets = load(dir);
  } catch (error) {
    options.logger?.error({ err: error, dir }, 'the dashboard is not built: run `npm run build`');
  }
  const serve = (path: DashboardPath) => (c: Context<AppEnv>) => {
    const asset = assets?.get(path);
    if (asset === undefined)
      throw new RequestError(
        500,
        'dashboard_not_built',
        'the dashboard is not built on this server (`npm run build` builds it)',
      );
    const headers = { etag: asset.etag, ...SECURITY_HEADERS };
    if (matches(c.req.header('if-none-match'), asset.etag)) return c.body(null, 304, headers);
    return c.body(asset.body, 200, { 'content-type': asset.type, ...headers });
  };
  return new Hono<AppEnv>()
    .get('/', (c) => c.redirect('/dashboard', 302))
    .get('/dashboard', serve('/dashboard'))
    .get('/dashboard/app.js', serve('/dashboard/app.js'))
    .get('/dashboard/app.css', serve('/dashboard/app.css'));
}
