import { z } from 'zod';

/** One org/project pair. Every event, stream and report belongs to exactly one. */
export interface Tenant {
  readonly org_id: string;
  readonly project_id: string;
}

/** Safe identifiers for `x-org-id` / `x-project-id`: no `/`, so a tenant key is unambiguous. */
export const tenantIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    'must be 1-64 characters of letters, digits, ".", "_" or "-", starting with a letter or digit',
  );

export const tenantSchema = z.object({ org_id: tenantIdSchema, project_id: tenantIdSchema });

export const tenantKey = (tenant: Tenant): string => `${tenant.org_id}/${tenant.project_id}`;

/** Whether one of the `org/project` patterns (`*` for any org or project) names the tenant. */
export function tenantMatches(patterns: readonly string[], tenant: Tenant): boolean {
  return patterns.some((pattern) => {
    const [org, project] = pattern.split('/');
    return (org === '*' || org === tenant.org_id) && (project === '*' || project === tenant.project_id);
  });
}

/**
 * NEXUS's own logs (workers joining and leaving, LLM breakers) live in tenants of the org
 * `_nexus`, which no client can create: tenant ids start with a letter or digit.
 */
export const SYSTEM_ORG = '_nexus';

/** `tenantFromKey`, one shared object per key: stores hand out the same tenant for every event of it. */
export function tenantCache(): (key: string) => Tenant {
  const tenants = new Map<string, Tenant>();
  return (key) => {
    let tenant = tenants.get(key);
    if (!tenant) tenants.set(key, (tenant = tenantFromKey(key)));
    return tenant;
  };
}

export function tenantFromKey(key: string): Tenant {
  const slash = key.indexOf('/');
  return { org_id: key.slice(0, slash), project_id: key.slice(slash + 1) };
}
