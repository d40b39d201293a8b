import type { HttpBindings } from '@hono/node-server';
import type { Tenant } from '../events/tenant.js';

import type { Principal } from './auth/principals.js';
import type { Session } from './auth/session-token.js';

export interface AppEnv {
  Bindings: HttpBindings;
  Variables: {
    principal: Principal;
    tenant: Tenant;
    correlation_id: string;
    /** Set when the request was authenticated by a dashboard session cookie. */
    session?: Session;
    /** Which key authenticated the request (see keyFingerprint), for a session opened with it. */
    key_fingerprint: string;
  };
}
