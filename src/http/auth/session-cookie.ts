import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { AppEnv } from '../app-env.js';
import { header } from '../header.js';

// Over HTTPS the cookie is `__Host-` prefixed: Secure, host-only, path /, so no sibling
// subdomain can plant one. Plain HTTP (localhost) cannot carry such a cookie.
const PLAIN = 'nexus_session';
const HOST_ONLY = '__Host-nexus_session';

/** The page came over HTTPS, directly or through a proxy that says so. */
export const overHttps = (c: Context<AppEnv>): boolean =>
  new URL(c.req.url).protocol === 'https:' || header(c, 'x-forwarded-proto') === 'https';

export const readSessionCookie = (c: Context<AppEnv>): string | undefined =>
  getCookie(c, HOST_ONLY) ?? (overHttps(c) ? undefined : getCookie(c, PLAIN));

export function writeSessionCookie(c: Context<AppEnv>, token: string, maxAgeSeconds: number): void {
  const secure = overHttps(c);
  setCookie(c, secure ? HOST_ONLY : PLAIN, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'Strict',
    secure,
    maxAge: maxAgeSeconds,
  });
}

export function clearSessionCookie(c: Context<AppEnv>): void {
  const secure = overHttps(c);
  deleteCookie(c, secure ? HOST_ONLY : PLAIN, { path: '/', httpOnly: true, sameSite: 'Strict', secure });
}
