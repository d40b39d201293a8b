import type { MiddlewareHandler } from 'hono';
import { SYSTEM_ORG, tenantIdSchema } from '../../events/tenant.js';
import type { AppEnv } from '../app-env.js';
import { RequestError } from '../errors.js';
import { header } from '../header.js';

const SYSTEM_PROJECT = /^_[a-z]{1,30}$/;

/**
 * `x-org-id` and `x-project-id`: required, validated, and the only source of the tenant, but for
 * a dashboard session, which is bound to its own tenant (headers naming another get 403). NEXUS's
 * own tenants (`_nexus/…`) can be read, not written, by admins: their streams report workers
 * joining and leaving (`_nexus/_executors`) and LLM breakers (`_nexus/_llm`).
 */
export function tenantHeaders(): MiddlewareHandler<AppEnv> {
  return async function tenantHeadersMiddleware(c, next) {
    const session = c.get('session');
    const org = header(c, 'x-org-id') ?? session?.tenant.org_id;
    const project = header(c, 'x-project-id') ?? session?.tenant.project_id;
    if (session && (org !== session.tenant.org_id || project !== session.tenant.project_id)) {
      throw new RequestError(
        403,
        'forbidden_tenant',
        `this session is for ${session.tenant.org_id}/${session.tenant.project_id}`,
      );
    }
    if (org === undefined || project === undefined) {
      throw new RequestError(400, 'missing_tenant', 'send the tenant in the x-org-id and x-project-id headers');
    }
    if (org === SYSTEM_ORG && SYSTEM_PROJECT.test(project)) {
      if (!c.get('principal').roles.includes('admin') || (c.req.method !== 'GET' && c.req.method !== 'HEAD')) {
        throw new RequestError(
          403,
          'forbidden_tenant',
          `${org}/${project} is NEXUS's own log: admins may read it, nobody writes to it`,
        );
      }
      c.set('tenant', { org_id: org, project_id: project });
      return next();
    }
    for (const [header, value] of [
      ['x-org-id', org],
      ['x-project-id', project],
    ] as const) {
      const result = tenantIdSchema.safeParse(value);
      if (!result.success)
        throw new RequestError(400, 'invalid_tenant', `${header} ${result.error.issues[0]!.message}`);
    }
    c.set('tenant', { org_id: org, project_id: project });
    return next();
  };
}
