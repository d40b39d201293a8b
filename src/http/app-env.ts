import type { HttpBindings } from '@hono/node-server';
import type { Tenant } from '../events/tenant.js';

export type Role = 'requester' | 'approver' | 'admin';

/** Who is calling, as established by authentication. */
export interface Principal {
  readonly id: string;
  readonly roles: readonly Role[];
}

export interface AppEnv {
  Bindings: HttpBindings;
  Variables: {
    principal: Principal;
    tenant: Tenant;
    correlation_id: string;
  };
}
