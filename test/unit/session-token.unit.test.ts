import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  csrfMatches,
  csrfToken,
  keyFingerprint,
  MAX_SESSION_MS,
  newSession,
  openSession,
  sealSession,
  sessionKey,
} from '../../src/http/auth/session-token.js';
import { dataDirSessionSecret } from '../../src/http/auth/session-secret.js';
import { tenant } from '../support/fixtures.js';

const key = sessionKey('a-secret-of-at-least-32-characters!!');
const now = Date.parse('2026-11-24T10:00:00Z');
const admin = { principal_id: 'admin', key: keyFingerprint(key, 'ab'.repeat(32)) };

describe('dashboard session tokens', () => {
  it('open to the session they were sealed from until they expire', () => {
    const session = newSession(admin, tenant, now, 900_000);
    const token = sealSession(key, session);
    expect(openSession(key, token, now + 899_999)).toEqual(session);
    expect(openSession(key, token, now + 900_000)).toBeUndefined();
  });

  it('refuse a changed payload, a changed signature and another signing key', () => {
    const token = sealSession(key, newSession({ ...admin, principal_id: 'api-key' }, tenant, now, 900_000));
    const [payload, signature] = token.split('.') as [string, string];
    const forged = Buffer.from(Buffer.from(payload, 'base64url').toString().replace('api-key', 'admin')).toString(
      'base64url',
    );
    expect(openSession(key, `${forged}.${signature}`, now)).toBeUndefined();
    expect(openSession(key, `${payload}.${signature.slice(1)}`, now)).toBeUndefined();
    expect(openSession(key, `${payload}`, now)).toBeUndefined();
    expect(openSession(sessionKey('another-secret-of-32-characters!!!!'), token, now)).toBeUndefined();
  });

  it('are signed with a random secret kept in the data folder, never one made from the API keys', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nexus-secret-'));
    const secret = dataDirSessionSecret(dir);
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(dataDirSessionSecret(dir)).toBe(secret);
    expect(statSync(join(dir, 'session-secret')).mode & 0o777).toBe(0o600);
    expect(dataDirSessionSecret(mkdtempSync(join(tmpdir(), 'nexus-secret-')))).not.toBe(secret);
    expect(readdirSync(dir)).toEqual(['session-secret']);
  });

  it('refuse a secret file that is not a whole secret, rather than sign with it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nexus-secret-'));
    writeFileSync(join(dir, 'session-secret'), '');
    expect(() => dataDirSessionSecret(dir)).toThrow(/is not a session secret/);
  });

  it('keep their sid and sign-in time when renewed, never past twelve hours after sign-in', () => {
    const first = newSession(admin, tenant, now, 900_000);
    const renewed = newSession(admin, tenant, now + MAX_SESSION_MS - 60_000, 900_000, first);
    expect(renewed).toMatchObject({ sid: first.sid, signed_in_at: now, expires_at: now + MAX_SESSION_MS });
    expect(csrfToken(key, renewed)).toBe(csrfToken(key, first));
  });

  it('tie the CSRF token to the sign-in', () => {
    const one = newSession(admin, tenant, now, 900_000);
    const two = newSession(admin, tenant, now, 900_000);
    expect(csrfMatches(key, one, csrfToken(key, one))).toBe(true);
    expect(csrfMatches(key, one, csrfToken(key, two))).toBe(false);
    expect(csrfMatches(key, one, undefined)).toBe(false);
  });
});
