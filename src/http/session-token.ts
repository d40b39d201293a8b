import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Tenant } from '../events/tenant.js';

/**
 * A dashboard session: a principal bound to one tenant for a short while. It lives only in a
 * signed, HttpOnly cookie (nothing is stored server-side), so every replica that shares the
 * signing key accepts it, and it survives restarts.
 */
export interface Session {
  readonly sid: string;
  readonly principal_id: string;
  readonly tenant: Tenant;
  /** When the key was exchanged (ms): renewals never carry a session past MAX_SESSION_MS from it. */
  readonly signed_in_at: number;
  readonly expires_at: number;
}

export const SESSION_COOKIE = 'nexus_session';
export const MAX_SESSION_MS = 12 * 60 * 60 * 1000;

const sessionSchema = z
  .object({
    sid: z.string(),
    principal_id: z.string(),
    tenant: z.object({ org_id: z.string(), project_id: z.string() }).strict(),
    signed_in_at: z.number().int(),
    expires_at: z.number().int(),
  })
  .strict();

/**
 * The key that signs sessions: SESSION_SECRET, or one derived from the API keys (rotating a
 * key then ends every session). Development mode has no keys and checks none, so a fixed key
 * gives nothing away there.
 */
export function sessionKey(keys: { secret?: string | undefined; apiKey?: string | undefined; adminKey?: string | undefined }): Buffer {
  const material = keys.secret ?? [keys.apiKey ?? '', keys.adminKey ?? ''].join('\0');
  return createHmac('sha256', 'nexus-session-v1').update(material === '\0' ? 'development' : material).digest();
}

const mac = (key: Buffer, text: string): Buffer => createHmac('sha256', key).update(text).digest();

export function newSession(principalId: string, tenant: Tenant, now: number, ttlMs: number, signedInAt = now): Session {
  return { sid: randomUUID(), principal_id: principalId, tenant, signed_in_at: signedInAt, expires_at: Math.min(now + ttlMs, signedInAt + MAX_SESSION_MS) };
}

/** `payload.signature`, both base64url. */
export function sealSession(key: Buffer, session: Session): string {
  const payload = Buffer.from(JSON.stringify(session)).toString('base64url');
  return `${payload}.${mac(key, payload).toString('base64url')}`;
}

/** The session a cookie holds, if it is genuine and not expired. */
export function openSession(key: Buffer, token: string, now: number): Session | undefined {
  const [payload, signature, ...rest] = token.split('.');
  if (payload === undefined || signature === undefined || rest.length > 0) return undefined;
  // Digests of both sides have the same length, so timingSafeEqual never throws on a short forgery.
  const given = createHash('sha256').update(signature).digest();
  const expected = createHash('sha256').update(mac(key, payload).toString('base64url')).digest();
  if (!timingSafeEqual(given, expected)) return undefined;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = sessionSchema.safeParse(decoded);
  if (!parsed.success || parsed.data.expires_at <= now) return undefined;
  return parsed.data;
}

/** The token a page sends in `x-csrf-token` with every change it asks for, tied to the session. */
export const csrfToken = (key: Buffer, session: Session): string => mac(key, `csrf:${session.sid}`).toString('base64url');

export function csrfMatches(key: Buffer, session: Session, given: string | undefined): boolean {
  if (given === undefined) return false;
  const expected = createHash('sha256').update(csrfToken(key, session)).digest();
  return timingSafeEqual(createHash('sha256').update(given).digest(), expected);
}
