import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv, Principal } from '../app-env.js';
import { RequestError } from '../errors.js';
import { header } from '../header.js';

export interface AuthOptions {
  /** `NEXUS_API_KEY`; absent in development mode. */
  readonly apiKey?: string;
  /** `ADMIN_API_KEY` */
  readonly adminKey?: string;
  readonly developmentMode: boolean;
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Equal-length digests, compared in constant time: the key's length and prefix stay secret. */
export function sameSecret(given: string, expectedDigest: Buffer): boolean {
  return timingSafeEqual(digest(given), expectedDigest);
}

const DEVELOPER: Principal = { id: 'development', roles: ['requester', 'approver', 'admin'] };
const CLIENT: Principal = { id: 'api-key', roles: ['requester', 'approver'] };
const ADMIN: Principal = { id: 'admin', roles: ['requester', 'approver', 'admin'] };

/**
 * `x-api-key` against the configured keys. In development mode (no NEXUS_API_KEY) every
 * request acts as the local developer; the server then listens on loopback only.
 */
export function apiKeyAuth(options: AuthOptions): MiddlewareHandler<AppEnv> {
  const adminDigest = options.adminKey === undefined ? undefined : digest(options.adminKey);
  const clientDigest = options.apiKey === undefined ? undefined : digest(options.apiKey);
  return async function apiKeyAuthMiddleware(c, next) {
    if (options.developmentMode) {
      c.set('principal', DEVELOPER);
      return next();
    }
    const given = header(c, 'x-api-key');
    if (given === undefined || given === '') throw new RequestError(401, 'missing_api_key', 'send your API key in the x-api-key header');
    const isAdmin = adminDigest !== undefined && sameSecret(given, adminDigest);
    const isClient = clientDigest !== undefined && sameSecret(given, clientDigest);
    if (!isAdmin && !isClient) throw new RequestError(401, 'invalid_api_key', 'the x-api-key is not valid');
    c.set('principal', isAdmin ? ADMIN : CLIENT);
    return next();
  };
}
