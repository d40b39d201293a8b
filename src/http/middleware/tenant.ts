import type { MiddlewareHandler } from 'hono';
import { tenantIdSchema } from '../../events/tenant.js';
import type { AppEnv } from '../app-env.js';
import { RequestError } from '../errors.js';
import { header } from '../header.js';

/** `x-org-id` and `x-project-id`: required, validated, and the only source of the tenant. */
export function tenantHeaders(): MiddlewareHandler<AppEnv> {
  return async function tenantHeadersMiddleware(c, next) {
    const org = header(c, 'x-org-id');
    const project = header(c, 'x-project-id');
    if (org === undefined || project === undefined) {
      throw new RequestError(400, 'missing_tenant', 'send the tenant in the x-org-id and x-project-id headers');
    }
    for (const [header, value] of [['x-org-id', org], ['x-project-id', project]] as const) {
      const result = tenantIdSchema.safeParse(value);
      if (!result.success) throw new RequestError(400, 'invalid_tenant', `${header} ${result.error.issues[0]!.message}`);
    }
    c.set('tenant', { org_id: org, project_id: project });
    return next();
  };
}
