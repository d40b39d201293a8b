import { describe, expect, it } from 'vitest';
import { csrfMatches, csrfToken, MAX_SESSION_MS, newSession, openSession, sealSession, sessionKey } from '../../src/http/session-token.js';
import { tenant } from '../support/fixtures.js';

const key = sessionKey({ apiKey: 'client-key-123', adminKey: 'admin-key-123' });
const now = Date.parse('2026-11-24T10:00:00Z');

describe('dashboard session tokens', () => {
  it('open to the session they were sealed from until they expire', () => {
    const session = newSession('admin', tenant, now, 900_000);
    const token = sealSession(key, session);
    expect(openSession(key, token, now + 899_999)).toEqual(session);
    expect(openSession(key, token, now + 900_000)).toBeUndefined();
  });

  it('refuse a changed payload, a changed signature and another key', () => {
    const token = sealSession(key, newSession('api-key', tenant, now, 900_000));
    const [payload, signature] = token.split('.') as [string, string];
    const forged = Buffer.from(Buffer.from(payload, 'base64url').toString().replace('api-key', 'admin')).toString('base64url');
    expect(openSession(key, `${forged}.${signature}`, now)).toBeUndefined();
    expect(openSession(key, `${payload}.${signature.slice(1)}`, now)).toBeUndefined();
    expect(openSession(key, `${payload}`, now)).toBeUndefined();
    expect(openSession(sessionKey({ apiKey: 'client-key-123', adminKey: 'rotated-admin-key' }), token, now)).toBeUndefined();
  });

  it('derive the same key from the same configuration (a restart or another replica keeps sessions)', () => {
    expect(sessionKey({ apiKey: 'client-key-123', adminKey: 'admin-key-123' }).equals(key)).toBe(true);
    expect(sessionKey({ secret: 's'.repeat(32), apiKey: 'client-key-123' }).equals(key)).toBe(false);
  });

  it('are never renewed past twelve hours after sign-in', () => {
    const renewed = newSession('admin', tenant, now + MAX_SESSION_MS - 60_000, 900_000, now);
    expect(renewed.expires_at).toBe(now + MAX_SESSION_MS);
  });

  it('tie the CSRF token to the session', () => {
    const one = newSession('admin', tenant, now, 900_000);
    const two = newSession('admin', tenant, now, 900_000);
    expect(csrfMatches(key, one, csrfToken(key, one))).toBe(true);
    expect(csrfMatches(key, one, csrfToken(key, two))).toBe(false);
    expect(csrfMatches(key, one, undefined)).toBe(false);
  });
});
