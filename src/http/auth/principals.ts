import { z } from 'zod';
import { tenantMatches, type Tenant } from '../../events/tenant.js';

export const roles = ['requester', 'approver', 'admin'] as const;
export type Role = (typeof roles)[number];

/** Who calls, as authentication established it: what the audit names. */
export interface Principal {
  readonly id: string;
  readonly roles: readonly Role[];
  /** `org/project` patterns, `*` for any org or project. */
  readonly tenants: readonly string[];
  /** A key many hold (NEXUS_API_KEY, development mode): it identifies nobody, which four eyes take into account. */
  readonly shared?: boolean;
}

/** A named principal as configured: its key is known only by its sha-256. */
export interface ConfiguredPrincipal extends Principal {
  readonly key_sha256: string;
}

const tenantId = '(\\*|[A-Za-z0-9][A-Za-z0-9._-]{0,63})';

/** The names NEXUS gives its own keys; configured principals may not take them. */
export const builtInPrincipalIds = ['development', 'api-key', 'admin'];

export const principalsSchema = z
  .array(
    z
      .object({
        id: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'must be 1-64 letters, digits or . _ @ -')
          .refine((id) => !builtInPrincipalIds.includes(id), 'is reserved'),
        key_sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be the hex sha-256 of the key'),
        roles: z.array(z.enum(roles)).min(1),
        tenants: z
          .array(z.string().regex(new RegExp(`^${tenantId}/${tenantId}$`), 'must be org/project, * allowed'))
          .min(1),
      })
      .strict(),
  )
  .superRefine((principals, context) => {
    const ids = new Set<string>();
    const keys = new Set<string>();
    principals.forEach((principal, i) => {
      if (ids.has(principal.id))
        context.addIssue({ code: 'custom', path: [i, 'id'], message: `${principal.id} is listed twice` });
      if (keys.has(principal.key_sha256))
        context.addIssue({ code: 'custom', path: [i, 'key_sha256'], message: 'the same key is listed twice' });
      ids.add(principal.id);
      keys.add(principal.key_sha256);
    });
  });

/** Whether a principal may act in a tenant. */
export function inScope(principal: Pick<Principal, 'tenants'>, tenant: Tenant): boolean {
  return tenantMatches(principal.tenants, tenant);
}
