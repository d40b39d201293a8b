import type { Context } from 'hono';
import type { AppEnv } from './app-env.js';

/**
 * One request header (lower-case name). Served from Node's own parsed headers when the request
 * came through a Node server, which spares building a WHATWG `Headers` object per request;
 * from Hono otherwise (`app.request()` in tests).
 */
export function header(c: Context<AppEnv>, name: string): string | undefined {
  const incoming = (c.env as AppEnv['Bindings'] | undefined)?.incoming;
  if (!incoming) return c.req.header(name);
  const value = incoming.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
