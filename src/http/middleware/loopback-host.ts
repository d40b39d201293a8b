import type { MiddlewareHandler } from 'hono';
import { isLoopback } from '../../config/load-config.js';
import type { AppEnv } from '../app-env.js';
import { header } from '../header.js';
import { RequestError } from '../errors.js';

/** `localhost:8000` → `localhost`, `[::1]:8000` → `::1`. */
function hostName(hostHeader: string): string {
  if (hostHeader.startsWith('[')) return hostHeader.slice(1, hostHeader.indexOf(']'));
  const colon = hostHeader.lastIndexOf(':');
  return colon === -1 ? hostHeader : hostHeader.slice(0, colon);
}

/**
 * Development mode checks no keys, so it answers only requests addressed to this machine by
 * name: a web page that rebinds its own domain to 127.0.0.1 (DNS rebinding) gets 403.
 */
export function loopbackHostOnly(): MiddlewareHandler<AppEnv> {
  return async function loopbackHostOnlyMiddleware(c, next) {
    const host = header(c, 'host');
    if (host === undefined || !isLoopback(hostName(host).toLowerCase())) {
      throw new RequestError(
        403,
        'forbidden_host',
        'development mode answers only requests to localhost, 127.0.0.1 or [::1]',
      );
    }
    return next();
  };
}
