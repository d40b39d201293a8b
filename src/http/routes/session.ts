import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { FourEyesRule } from '../../commands/four-eyes.js';
import type { AppEnv } from '../app-env.js';
import type { Guards } from '../guards.js';
import { RequestError } from '../errors.js';
import { errorSchema, type RouteDoc } from '../openapi.js';
import { clearSessionCookie, writeSessionCookie } from '../auth/session-cookie.js';
import { csrfToken, newSession, sealSession, type Session } from '../auth/session-token.js';

export interface SessionRoutesDeps {
  readonly sessionKey: Buffer;
  readonly ttlSeconds: number;
  readonly now: () => Date;
  /** APPROVAL_FOUR_EYES: the page offers a decision only to who may make it. */
  readonly fourEyes: FourEyesRule;
}

const sessionInfo = z.object({
  principal: z.object({
    id: z.string(),
    roles: z.array(z.string()),
    shared: z.boolean().meta({ description: 'A key many hold (NEXUS_API_KEY): it identifies nobody' }),
  }),
  four_eyes: z
    .enum(['named', 'always', 'off'])
    .meta({ description: 'APPROVAL_FOUR_EYES: who may not decide their own request' }),
  org_id: z.string(),
  project_id: z.string(),
  expires_at: z.string(),
  csrf_token: z.string().meta({ description: 'Send as x-csrf-token with every POST made with the session cookie' }),
});

export const sessionDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/session',
    summary: 'Exchange a key for a dashboard session (or renew one)',
    description:
      'With x-api-key and the tenant headers: sets a short-lived, HttpOnly, SameSite=Strict cookie (`__Host-` prefixed and Secure over HTTPS) bound to that principal, key and tenant, which EventSource and fetch then send instead of the key. With a valid session cookie (and its x-csrf-token): renews it, at most 12 hours after sign-in, keeping its CSRF token.',
    tags: ['dashboard'],
    tenant: true,
    responses: { 201: { description: 'The session', schema: sessionInfo } },
  },
  {
    method: 'get',
    path: '/session',
    summary: 'The current dashboard session',
    tags: ['dashboard'],
    tenant: false,
    key: true,
    responses: {
      200: { description: 'The session', schema: sessionInfo },
      401: { description: 'No session cookie (`no_session`), or an expired one', schema: errorSchema },
      403: {
        description: 'Tenant headers naming another tenant than the session, or a principal no longer in it',
        schema: errorSchema,
      },
    },
  },
  {
    method: 'delete',
    path: '/session',
    summary: 'Sign out: the session cookie is cleared',
    tags: ['dashboard'],
    tenant: false,
    responses: { 204: { description: 'Signed out' } },
  },
];

/**
 * `/session`, with the guards of each method: signing out needs nothing (it only clears the
 * cookie); signing in needs a key (or the session being renewed) and the tenant headers, and
 * counts against the address's attempts but not against the tenant's rate (a page checking its
 * session after a restart must not be told to sign in); reading the session needs one.
 */
export function sessionRoutes(deps: SessionRoutesDeps, guards: Guards) {
  const describe = (c: Context<AppEnv>, session: Session) => ({
    principal: {
      id: c.get('principal').id,
      roles: [...c.get('principal').roles],
      shared: c.get('principal').shared === true,
    },
    four_eyes: deps.fourEyes,
    org_id: session.tenant.org_id,
    project_id: session.tenant.project_id,
    expires_at: new Date(session.expires_at).toISOString(),
    csrf_token: csrfToken(deps.sessionKey, session),
  });

  return new Hono<AppEnv>()
    .delete('/', (c) => {
      clearSessionCookie(c);
      return c.body(null, 204);
    })
    .post('/', guards.authenticate, guards.countingAttempts, ...guards.tenant, (c) => {
      const now = deps.now().getTime();
      const who = { principal_id: c.get('principal').id, key: c.get('key_fingerprint') };
      const session = newSession(who, c.get('tenant'), now, deps.ttlSeconds * 1000, c.get('session'));
      writeSessionCookie(
        c,
        sealSession(deps.sessionKey, session),
        Math.max(1, Math.floor((session.expires_at - now) / 1000)),
      );
      return c.json(describe(c, session), 201);
    })
    .get('/', guards.authenticate, requireSession, ...guards.tenant, (c) => c.json(describe(c, c.get('session')!)));
}

/**
 * Runs before the tenant guards on `GET /session`: a request without a session (a page not
 * signed in, in development mode too) is told so, rather than asked for tenant headers.
 */
const requireSession: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.get('session')) throw new RequestError(401, 'no_session', 'no dashboard session: sign in with POST /session');
  return next();
};
