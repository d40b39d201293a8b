import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, API_KEY, startTestNexus, type TestNexus } from '../support/nexus.js';
import { SseClient } from '../support/sse-client.js';

const tenant = { org_id: 'dash', project_id: 'p' };
let nexus: TestNexus;

beforeAll(async () => {
  nexus = await startTestNexus();
});
afterAll(() => nexus.stop());

interface SignedIn {
  readonly cookie: string;
  readonly csrf: string;
  readonly setCookie: string;
  readonly body: Record<string, unknown>;
}

async function signIn(key: string, at = tenant): Promise<SignedIn> {
  const response = await fetch(`${nexus.url}/session`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'x-org-id': at.org_id, 'x-project-id': at.project_id },
  });
  expect(response.status).toBe(201);
  const setCookie = response.headers.get('set-cookie')!;
  const body = (await response.json()) as Record<string, unknown>;
  return { cookie: setCookie.split(';')[0]!, csrf: body.csrf_token as string, setCookie, body };
}

const withCookie = (session: SignedIn, extra: Record<string, string> = {}) => ({ cookie: session.cookie, ...extra });

describe('dashboard sessions', () => {
  it('exchange a key for an HttpOnly, SameSite=Strict cookie bound to the principal and tenant; the key appears nowhere in it', async () => {
    const session = await signIn(ADMIN_KEY);
    expect(session.setCookie).toMatch(/^nexus_session=[^;]+; Max-Age=900; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(session.setCookie).not.toContain(ADMIN_KEY);
    expect(Buffer.from(session.cookie.split('=')[1]!.split('.')[0]!, 'base64url').toString()).not.toContain(ADMIN_KEY);
    expect(session.body).toMatchObject({
      principal: { id: 'admin', roles: ['requester', 'approver', 'admin'] },
      org_id: 'dash',
      project_id: 'p',
    });
    const again = await fetch(`${nexus.url}/session`, { headers: withCookie(session) });
    expect(await again.json()).toMatchObject({ principal: { id: 'admin' }, csrf_token: session.csrf });
    const withKey = await fetch(`${nexus.url}/session`, { headers: { 'x-api-key': ADMIN_KEY } });
    expect(withKey.status).toBe(401);
    expect(((await withKey.json()) as { error: { code: string } }).error.code).toBe('no_session');
  });

  it('let EventSource read the stream with the cookie alone, in the session tenant only', async () => {
    const session = await signIn(API_KEY);
    const stream = await SseClient.connect(`${nexus.url}/agent/reports/stream`, withCookie(session));
    expect(stream.snapshot).toMatchObject({ org_id: 'dash', project_id: 'p' });
    stream.close();
    const other = await fetch(`${nexus.url}/agent/snapshot`, {
      headers: withCookie(session, { 'x-org-id': 'other', 'x-project-id': 'p' }),
    });
    expect(other.status).toBe(403);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe('forbidden_tenant');
  });

  it('need the CSRF token for every change, and the principal keeps its own rights', async () => {
    const session = await signIn(API_KEY);
    const post = (extra: Record<string, string>) =>
      fetch(`${nexus.url}/sidecar/command`, {
        method: 'POST',
        headers: withCookie(session, { 'content-type': 'application/json', ...extra }),
        body: JSON.stringify({ command_type: 'echo.test', params: { via: 'session' } }),
      });
    const without = await post({});
    expect(without.status).toBe(403);
    expect(((await without.json()) as { error: { code: string } }).error.code).toBe('csrf_token_mismatch');
    expect((await post({ 'x-csrf-token': 'nope' })).status).toBe(403);
    expect((await post({ 'x-csrf-token': session.csrf })).status).toBe(202);
    const pause = await fetch(`${nexus.url}/agent/autopilot`, {
      method: 'POST',
      headers: withCookie(session, { 'content-type': 'application/json', 'x-csrf-token': session.csrf }),
      body: JSON.stringify({ action: 'pause' }),
    });
    expect(pause.status).toBe(403);
  });

  it('refuse a forged or cleared cookie with 401, and renew a valid one without the key', async () => {
    const session = await signIn(ADMIN_KEY);
    const [name, token] = session.cookie.split('=') as [string, string];
    const forged = await fetch(`${nexus.url}/agent/snapshot`, {
      headers: { cookie: `${name}=${token.slice(0, -2)}xx` },
    });
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe('session_expired');
    const renewed = await fetch(`${nexus.url}/session`, {
      method: 'POST',
      headers: withCookie(session, { 'x-csrf-token': session.csrf }),
    });
    expect(renewed.status).toBe(201);
    expect(renewed.headers.get('set-cookie')).toMatch(/^nexus_session=/);
    const signOut = await fetch(`${nexus.url}/session`, { method: 'DELETE', headers: withCookie(session) });
    expect(signOut.status).toBe(204);
    expect(signOut.headers.get('set-cookie')).toMatch(/^nexus_session=; Max-Age=0/);
  });

  it('keep their CSRF token when renewed, so every tab of one sign-in goes on working', async () => {
    const session = await signIn(ADMIN_KEY);
    const renewed = await fetch(`${nexus.url}/session`, {
      method: 'POST',
      headers: withCookie(session, { 'x-csrf-token': session.csrf }),
    });
    const cookie = renewed.headers.get('set-cookie')!.split(';')[0]!;
    expect(((await renewed.json()) as { csrf_token: string }).csrf_token).toBe(session.csrf);
    const pause = await fetch(`${nexus.url}/agent/autopilot`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', 'x-csrf-token': session.csrf },
      body: JSON.stringify({ action: 'resume' }),
    });
    expect(pause.status).toBe(202);
  });

  it('over HTTPS are __Host- cookies, and a plain one is not taken there', async () => {
    const https = { 'x-forwarded-proto': 'https' };
    const response = await fetch(`${nexus.url}/session`, {
      method: 'POST',
      headers: { 'x-api-key': ADMIN_KEY, 'x-org-id': 'dash', 'x-project-id': 'p', ...https },
    });
    expect(response.headers.get('set-cookie')).toMatch(
      /^__Host-nexus_session=[^;]+; Max-Age=900; Path=\/; HttpOnly; Secure; SameSite=Strict$/,
    );
    const hostOnly = response.headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(`${nexus.url}/agent/snapshot`, { headers: { cookie: hostOnly, ...https } })).status).toBe(200);
    const plain = `nexus_session=${hostOnly.split('=').slice(1).join('=')}`;
    expect((await fetch(`${nexus.url}/agent/snapshot`, { headers: { cookie: plain, ...https } })).status).toBe(401);
  });

  it('cannot be opened with a bad key or for NEXUS own logs', async () => {
    const bad = await fetch(`${nexus.url}/session`, {
      method: 'POST',
      headers: { 'x-api-key': 'wrong-key-123', 'x-org-id': 'dash', 'x-project-id': 'p' },
    });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('set-cookie')).toBeNull();
    const system = await fetch(`${nexus.url}/session`, {
      method: 'POST',
      headers: { 'x-api-key': ADMIN_KEY, 'x-org-id': '_nexus', 'x-project-id': '_executors' },
    });
    expect(system.status).toBe(403);
  });

  it('serves the page with a strict content security policy, and its script built from source', async () => {
    const root = await fetch(`${nexus.url}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/dashboard');
    const page = await fetch(`${nexus.url}/dashboard`);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//);
    const script = await fetch(`${nexus.url}/dashboard/app.js`);
    expect(script.headers.get('content-type')).toContain('javascript');
    expect(await script.text()).toContain('/agent/reports/stream');
  });
});

describe('sessions across a restart', () => {
  const principal = (key: string) =>
    JSON.stringify([
      {
        id: 'alice',
        key_sha256: createHash('sha256').update(key).digest('hex'),
        roles: ['approver'],
        tenants: ['dash/*'],
      },
    ]);

  it('outlive a restart on the same data, and end when the principal is given another key', async () => {
    const first = await startTestNexus({ NEXUS_PRINCIPALS: principal('alice-key-0123456789') });
    const response = await fetch(`${first.url}/session`, {
      method: 'POST',
      headers: { 'x-api-key': 'alice-key-0123456789', 'x-org-id': 'dash', 'x-project-id': 'p' },
    });
    const cookie = response.headers.get('set-cookie')!.split(';')[0]!;
    await first.stop();

    const same = await startTestNexus({
      NEXUS_DATA_DIR: first.dataDir,
      NEXUS_PRINCIPALS: principal('alice-key-0123456789'),
    });
    const again = await fetch(`${same.url}/session`, { headers: { cookie } });
    expect(await again.json()).toMatchObject({ principal: { id: 'alice' }, org_id: 'dash' });
    await same.stop();

    const rotated = await startTestNexus({
      NEXUS_DATA_DIR: first.dataDir,
      NEXUS_PRINCIPALS: principal('alice-new-key-0123456789'),
    });
    try {
      const refused = await fetch(`${rotated.url}/agent/snapshot`, { headers: { cookie } });
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('session_expired');
    } finally {
      await rotated.stop();
    }
  });
});

describe('sessions in development mode (no keys)', () => {
  it('name the tenant: a page without one is told to sign in (401), with one it reads its own tenant only', async () => {
    const dev = await startTestNexus({ NEXUS_API_KEY: '', ADMIN_API_KEY: '' });
    try {
      const none = await fetch(`${dev.url}/session`);
      expect(none.status).toBe(401);
      expect(((await none.json()) as { error: { code: string } }).error.code).toBe('no_session');
      const opened = await fetch(`${dev.url}/session`, {
        method: 'POST',
        headers: { 'x-org-id': 'dev', 'x-project-id': 'p' },
      });
      expect(opened.status).toBe(201);
      const cookie = opened.headers.get('set-cookie')!.split(';')[0]!;
      expect(await (await fetch(`${dev.url}/session`, { headers: { cookie } })).json()).toMatchObject({
        principal: { id: 'development' },
        org_id: 'dev',
      });
      expect((await fetch(`${dev.url}/session`, { headers: { cookie, 'x-org-id': 'other' } })).status).toBe(403);
      const stream = await SseClient.connect(`${dev.url}/agent/reports/stream`, { cookie });
      expect(stream.snapshot).toMatchObject({ org_id: 'dev', project_id: 'p' });
      stream.close();
    } finally {
      await dev.stop();
    }
  });
});
