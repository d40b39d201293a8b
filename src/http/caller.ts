import type { Context } from 'hono';
import type { Caller } from '../usecases/use-case.js';
import type { AppEnv } from './app-env.js';

/** The authenticated caller of a request, as use cases take it. */
export const callerOf = (c: Context<AppEnv>): Caller => ({
  id: c.get('principal').id,
  shared: c.get('principal').shared === true,
  correlation_id: c.get('correlation_id'),
});
