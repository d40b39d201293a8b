import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { inScope, type ConfiguredPrincipal, type Principal, type Role } from '../../principals.js';
import type { AppEnv } from '../app-env.js';
import { header } from '../header.js';
import { RequestError } from '../errors.js';

export interface AuthOptions {
  /** `NEXUS_API_KEY`; absent in development mode. */
  readonly apiKey?: string;
  /** `ADMIN_API_KEY` */
  readonly adminKey?: string;
  /** Named principals, known by the sha-256 of their keys. */
  readonly principals: readonly ConfiguredPrincipal[];
  readonly developmentMode: boolean;
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

const everyTenant = ['*/*'];
const DEVELOPER: Principal = { id: 'development', roles: ['requester', 'approver', 'admin'], tenants: everyTenant };
const CLIENT: Principal = { id: 'api-key', roles: ['requester', 'approver'], tenants: everyTenant };
const ADMIN: Principal = { id: 'admin', roles: ['requester', 'approver', 'admin'], tenants: everyTenant };

/**
 * `x-api-key` against the configured keys, in constant time: the shared keys by comparing
 * sha-256 digests with `timingSafeEqual`, named principals by the digest of the key (which
 * gives away nothing of the keys). In development mode every request is the local developer.
 */
export function apiKeyAuth(options: AuthOptions): MiddlewareHandler<AppEnv> {
  const shared = [
    ...(options.adminKey === undefined ? [] : [{ digest: digest(options.adminKey), principal: ADMIN }]),
    ...(options.apiKey === undefined ? [] : [{ digest: digest(options.apiKey), principal: CLIENT }]),
  ];
  const named = new Map(options.principals.map(({ key_sha256, ...principal }) => [key_sha256, principal]));
  return async function apiKeyAuthMiddleware(c, next) {
    if (options.developmentMode) {
      c.set('principal', DEVELOPER);
      return next();
    }
    const given = header(c, 'x-api-key');
    if (given === undefined || given === '') throw new RequestError(401, 'missing_api_key', 'send your API key in the x-api-key header');
    const presented = digest(given);
    // Every shared key is compared, whichever matches: the time taken tells nothing.
    const matches = shared.filter((candidate) => timingSafeEqual(presented, candidate.digest));
    const principal = matches[0]?.principal ?? named.get(presented.toString('hex'));
    if (!principal) throw new RequestError(401, 'invalid_api_key', 'the x-api-key is not valid');
    c.set('principal', principal);
    return next();
  };
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

export function requireRole(role: Role): MiddlewareHandler<AppEnv> {
  return async function requireRoleMiddleware(c, next) {
    if (!c.get('principal').roles.includes(role)) throw new RequestError(403, 'forbidden', `this key lacks the ${role} role`);
    return next();
  };
}
