import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { inScope, type ConfiguredPrincipal, type Principal, type Role } from './principals.js';
import type { AppEnv } from '../app-env.js';
import { beforeARoute } from '../before-a-route.js';
import { header } from '../header.js';
import { RequestError } from '../errors.js';
import { readSessionCookie } from './session-cookie.js';
import { csrfMatches, keyFingerprint, openSession } from './session-token.js';

export interface AuthOptions {
  /** `NEXUS_API_KEY`; absent in development mode. */
  readonly apiKey?: string;
  /** `ADMIN_API_KEY` */
  readonly adminKey?: string;
  /** Named principals, known by the sha-256 of their keys. */
  readonly principals: readonly ConfiguredPrincipal[];
  readonly developmentMode: boolean;
  /** Signs dashboard sessions (see session-token.ts). */
  readonly sessionKey: Buffer;
  readonly now?: () => number;
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

const everyTenant = ['*/*'];
const DEVELOPER: Principal = {
  id: 'development',
  roles: ['requester', 'approver', 'admin'],
  tenants: everyTenant,
  shared: true,
};
const CLIENT: Principal = { id: 'api-key', roles: ['requester', 'approver'], tenants: everyTenant, shared: true };
const ADMIN: Principal = { id: 'admin', roles: ['requester', 'approver', 'admin'], tenants: everyTenant };
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * `x-api-key` against the configured keys, in constant time: the shared keys by comparing
 * sha-256 digests with `timingSafeEqual`, named principals by the digest of the key (which
 * gives away nothing of the keys). Without a key, a dashboard session cookie: its principal is
 * looked up again on every request (a principal removed from the configuration, or given
 * another key, is out at once), and a change it asks for must carry the session's
 * `x-csrf-token`. In development mode every
 * request is the local developer, and a session only names the tenant.
 */
export function apiKeyAuth(options: AuthOptions): MiddlewareHandler<AppEnv> {
  const now = options.now ?? Date.now;
  const shared = [
    ...(options.adminKey === undefined ? [] : [{ digest: digest(options.adminKey), principal: ADMIN }]),
    ...(options.apiKey === undefined ? [] : [{ digest: digest(options.apiKey), principal: CLIENT }]),
  ];
  const named = new Map(options.principals.map(({ key_sha256, ...principal }) => [key_sha256, principal]));
  // Who a session names, and the fingerprint of that principal's key today.
  const byId = new Map<string, { principal: Principal; key: string }>([
    ...shared.map(
      ({ digest: d, principal }) =>
        [principal.id, { principal, key: keyFingerprint(options.sessionKey, d.toString('hex')) }] as const,
    ),
    ...options.principals.map(
      ({ key_sha256, ...principal }) =>
        [principal.id, { principal, key: keyFingerprint(options.sessionKey, key_sha256) }] as const,
    ),
  ]);
  const developerKey = keyFingerprint(options.sessionKey, 'development');

  return async function apiKeyAuthMiddleware(c, next) {
    const given = header(c, 'x-api-key');
    if (options.developmentMode) {
      c.set('principal', DEVELOPER);
      c.set('key_fingerprint', developerKey);
      if (given === undefined) readSession(c, false);
      return next();
    }
    if (given === undefined || given === '') {
      const session = readSession(c, true);
      if (!session) throw new RequestError(401, 'missing_api_key', 'send your API key in the x-api-key header');
      const known = byId.get(session.principal_id);
      if (!known || known.key !== session.key)
        throw new RequestError(
          401,
          'session_expired',
          'the key this session was opened with is no longer valid; sign in again',
        );
      c.set('principal', known.principal);
      c.set('key_fingerprint', known.key);
      return next();
    }
    const presented = digest(given);
    // Every shared key is compared, whichever matches: the time taken tells nothing.
    const matches = shared.filter((candidate) => timingSafeEqual(presented, candidate.digest));
    const principal = matches[0]?.principal ?? named.get(presented.toString('hex'));
    if (!principal) throw new RequestError(401, 'invalid_api_key', 'the x-api-key is not valid');
    c.set('principal', principal);
    c.set('key_fingerprint', keyFingerprint(options.sessionKey, presented.toString('hex')));
    return next();
  };

  /** The request's session cookie, checked (signature, expiry, CSRF token); undefined without one. */
  function readSession(c: Context<AppEnv>, required: boolean) {
    const token = readSessionCookie(c);
    if (token === undefined) return undefined;
    const session = openSession(options.sessionKey, token, now());
    if (!session) {
      if (!required) return undefined;
      throw new RequestError(401, 'session_expired', 'this session has expired or is not valid; sign in again');
    }
    if (!SAFE_METHODS.has(c.req.method) && !csrfMatches(options.sessionKey, session, header(c, 'x-csrf-token'))) {
      throw new RequestError(
        403,
        'csrf_token_mismatch',
        'a change made with a session cookie needs the x-csrf-token the session was given',
      );
    }
    c.set('session', session);
    return session;
  }
}

/** The principal may act in the request's tenant (run after the tenant headers are read). */
export function tenantScope(): MiddlewareHandler<AppEnv> {
  return async function tenantScopeMiddleware(c, next) {
    const tenant = c.get('tenant');
    if (!inScope(c.get('principal'), tenant)) {
      throw new RequestError(403, 'forbidden_tenant', `this key may not act in ${tenant.org_id}/${tenant.project_id}`);
    }
    return next();
  };
}

/** The principal holds the role; for a router's `use('*')` too, where it leaves requests that reach no route alone. */
export function requireRole(role: Role): MiddlewareHandler<AppEnv> {
  return beforeARoute(async function requireRoleMiddleware(c, next) {
    if (!c.get('principal').roles.includes(role))
      throw new RequestError(403, 'forbidden', `this key lacks the ${role} role`);
    return next();
  });
}
