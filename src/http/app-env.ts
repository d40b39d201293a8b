import type { HttpBindings } from '@hono/node-server';
import type { Tenant } from '../events/tenant.js';

import type { Principal } from '../principals.js';

export interface AppEnv {
  Bindings: HttpBindings;
  Variables: {
    principal: Principal;
    tenant: Tenant;
    correlation_id: string;
  };
}
