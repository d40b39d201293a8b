import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Tenant } from '../../events/tenant.js';

/**
 * A dashboard session: a principal bound to one tenant for a short while. It lives only in a
 * signed, HttpOnly cookie (nothing is stored server-side), so every replica that shares the
 * signing key accepts it, and it survives restarts.
 */
export interface Session {
  /** Kept across renewals, so every tab of one sign-in shares its CSRF token. */
  readonly sid: string;
  readonly principal_id: string;
  /** A fingerprint of the key the session was opened with: another key for the principal ends it. */
  readonly key: string;
  readonly tenant: Tenant;
  /** When the key was exchanged (ms): renewals never carry a session past MAX_SESSION_MS from it. */
  readonly signed_in_at: number;
  readonly expires_at: number;
}

export const MAX_SESSION_MS = 12 * 60 * 60 * 1000;

const sessionSchema = z
  .object({
    sid: z.string(),
    principal_id: z.string(),
    key: z.string(),
    tenant: z.object({ org_id: z.string(), project_id: z.string() }).strict(),
    signed_in_at: z.number().int(),
    expires_at: z.number().int(),
  })
  .strict();

const mac = (key: Buffer, text: string): Buffer => createHmac('sha256', key).update(text).digest();

/** The signing key made from a secret (SESSION_SECRET, or the one NEXUS keeps in its data folder). */
export const sessionKey = (secret: string): Buffer => mac(Buffer.from('nexus-session-v1'), secret);

/** What a session remembers of the key that opened it (the hex sha-256 of the key): not the key, nor its digest. */
export const keyFingerprint = (signingKey: Buffer, keyDigestHex: string): string =>
  mac(signingKey, `key:${keyDigestHex}`).toString('base64url').slice(0, 22);

/** A new session, or a renewal of `previous` (same sid and sign-in time, a later expiry). */
export function newSession(
  who: { principal_id: string; key: string },
  tenant: Tenant,
  now: number,
  ttlMs: number,
  previous?: Session,
): Session {
  const signedInAt = previous?.signed_in_at ?? now;
  return {
    sid: previous?.sid ?? randomUUID(),
    principal_id: who.principal_id,
    key: who.key,
    tenant,
    signed_in_at: signedInAt,
    expires_at: Math.min(now + ttlMs, signedInAt + MAX_SESSION_MS),
  };
}

/** `payload.signature`, both base64url. */
export function sealSession(key: Buffer, session: Session): string {
  const payload = Buffer.from(JSON.stringify(session)).toString('base64url');
  return `${payload}.${mac(key, payload).toString('base64url')}`;
}

/** Digests of both sides have the same length, so timingSafeEqual never throws on a short forgery. */
const sameText = (a: string, b: string): boolean =>
  timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());

/** The session a cookie holds, if it is genuine and not expired. */
export function openSession(key: Buffer, token: string, now: number): Session | undefined {
  const [payload, signature, ...rest] = token.split('.');
  if (payload === undefined || signature === undefined || rest.length > 0) return undefined;
  if (!sameText(signature, mac(key, payload).toString('base64url'))) return undefined;
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
export const csrfToken = (key: Buffer, session: Session): string =>
  mac(key, `csrf:${session.sid}`).toString('base64url');

export const csrfMatches = (key: Buffer, session: Session, given: string | undefined): boolean =>
  given !== undefined && sameText(given, csrfToken(key, session));
