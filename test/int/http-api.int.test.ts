import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, ADMIN_KEY, startTestNexus, type TestNexus } from '../support/nexus.js';
import type { Tenant } from '../../src/events/tenant.js';

const acme: Tenant = { org_id: 'acme', project_id: 'web' };
const echo = (params: unknown = { hello: 'world' }) => ({ command_type: 'echo.test', params });

let nexus: TestNexus;
beforeAll(async () => {
  nexus = await startTestNexus({ MAX_BODY_BYTES: '2048' });
});
afterAll(() => nexus.stop());

async function errorOf(response: Response) {
  const body = (await response.json()) as { error: { code: string; message: string; details?: unknown } };
  expect(typeof body.error.message).toBe('string');
  expect(response.headers.get('content-type')).toMatch(/application\/json/);
  return { status: response.status, code: body.error.code, details: body.error.details };
}

describe('POST /sidecar/command', () => {
  it('answers 202 with the ids once the command is recorded', async () => {
    const response = await nexus.command(acme, { ...echo(), correlation_id: 'test-001' });
    expect(response.status).toBe(202);
    const body = (await response.json()) as Record<string, string>;
    expect(body).toMatchObject({ status: 'accepted', correlation_id: 'test-001', risk_level: 'GREEN' });
    expect(body.command_id).toMatch(/^cmd-/);
    expect(response.headers.get('x-correlation-id')).toBe('test-001');
    const reports = (await (await nexus.get('/agent/reports?limit=1000', acme)).json()) as { reports: Array<Record<string, unknown>> };
    expect(reports.reports).toContainEqual(expect.objectContaining({ report_type: 'command_accepted', command_id: body.command_id, correlation_id: 'test-001' }));
  });

  it('generates a correlation id when the client sends none', async () => {
    const response = await nexus.command(acme, echo());
    const body = (await response.json()) as Record<string, string>;
    expect(body.correlation_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('x-correlation-id')).toBe(body.correlation_id);
  });

  it('uses x-correlation-id when the body has none', async () => {
    const response = await nexus.command(acme, echo(), { 'x-correlation-id': 'from-header-1' });
    expect(((await response.json()) as Record<string, string>).correlation_id).toBe('from-header-1');
  });

  it('gives RED commands an ask id and YELLOW ones their level', async () => {
    const red = await nexus.command(acme, { command_type: 'external_share.prepare', params: { recipient: 'test@example.com' } });
    expect(red.status).toBe(202);
    expect(await red.json()).toMatchObject({ risk_level: 'RED', ask_id: expect.stringMatching(/^ask-/) });
    const yellow = await nexus.command(acme, { command_type: 'data.export', params: {} });
    expect(await yellow.json()).toMatchObject({ risk_level: 'YELLOW' });
  });

  it('400: body that is not JSON', async () => {
    expect(await errorOf(await nexus.command(acme, '{"command_type": '))).toMatchObject({ status: 400, code: 'invalid_json' });
    expect(await errorOf(await nexus.command(acme, ''))).toMatchObject({ status: 400, code: 'invalid_json' });
  });

  it('400: missing or unsafe tenant headers', async () => {
    const noTenant = await fetch(`${nexus.url}/sidecar/command`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
      body: JSON.stringify(echo()),
    });
    expect(await errorOf(noTenant)).toMatchObject({ status: 400, code: 'missing_tenant' });
    for (const org of ['../etc', 'a b', 'x'.repeat(65), 'org/evil', '-leading']) {
      const response = await nexus.command({ org_id: org, project_id: 'web' }, echo());
      expect(await errorOf(response)).toMatchObject({ status: 400, code: 'invalid_tenant' });
    }
  });

  it('400: a bad Idempotency-Key or x-correlation-id', async () => {
    const badKey = await nexus.command(acme, echo(), { 'idempotency-key': 'x'.repeat(300) });
    expect(await errorOf(badKey)).toMatchObject({ status: 400, code: 'invalid_idempotency_key' });
    const badCorrelation = await nexus.command(acme, echo(), { 'x-correlation-id': 'y'.repeat(129) });
    expect(await errorOf(badCorrelation)).toMatchObject({ status: 400, code: 'invalid_correlation_id' });
  });

  it('401: no key or a wrong key, checked before anything else', async () => {
    const missing = await fetch(`${nexus.url}/sidecar/command`, { method: 'POST', headers: { 'x-org-id': 'acme', 'x-project-id': 'web' } });
    expect(await errorOf(missing)).toMatchObject({ status: 401, code: 'missing_api_key' });
    const wrong = await nexus.command(acme, echo(), { 'x-api-key': `${API_KEY}x` });
    expect(await errorOf(wrong)).toMatchObject({ status: 401, code: 'invalid_api_key' });
    const stream = await nexus.get('/agent/reports/stream', acme, { 'x-api-key': 'nope-nope-nope' });
    expect(await errorOf(stream)).toMatchObject({ status: 401, code: 'invalid_api_key' });
  });

  it('401 on every tenant route without a key', async () => {
    const routes: Array<[string, string]> = [
      ['GET', '/agent/snapshot'],
      ['GET', '/agent/reports'],
      ['GET', '/agent/snapshot/diff?from=0'],
      ['POST', '/agent/autopilot'],
      ['GET', '/approvals'],
      ['POST', '/approvals/ask-00000000-0000-7000-8000-000000000000/decide'],
      ['GET', '/audit/approvals'],
      ['GET', '/audit/verify'],
    ];
    for (const [method, path] of routes) {
      const response = await fetch(`${nexus.url}${path}`, { method, headers: { 'x-org-id': 'acme', 'x-project-id': 'web' } });
      expect(response.status, `${method} ${path}`).toBe(401);
    }
  });

  it('accepts the admin key wherever the client key is accepted', async () => {
    expect((await nexus.command(acme, echo(), { 'x-api-key': ADMIN_KEY })).status).toBe(202);
  });

  it('413: a body over MAX_BODY_BYTES, declared or streamed', async () => {
    const response = await nexus.command(acme, echo({ blob: 'x'.repeat(4096) }));
    expect(await errorOf(response)).toMatchObject({ status: 413, code: 'payload_too_large' });
    const chunks = [JSON.stringify(echo({ blob: 'y'.repeat(1500) })).slice(0, -2), `, "more": "${'z'.repeat(1500)}"}}`];
    const streamed = await fetch(`${nexus.url}/sidecar/command`, {
      method: 'POST',
      headers: { ...nexus.headers(acme), 'content-type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(await errorOf(streamed)).toMatchObject({ status: 413, code: 'payload_too_large' });
  });

  it('415: a body that is not sent as JSON', async () => {
    const response = await fetch(`${nexus.url}/sidecar/command`, {
      method: 'POST',
      headers: { ...nexus.headers(acme), 'content-type': 'text/plain' },
      body: JSON.stringify(echo()),
    });
    expect(await errorOf(response)).toMatchObject({ status: 415, code: 'unsupported_media_type' });
  });

  it('422: an unknown command type', async () => {
    const response = await nexus.command(acme, { command_type: 'rm.everything', params: {} });
    expect(await errorOf(response)).toMatchObject({ status: 422, code: 'unknown_command_type' });
  });

  it("422: params that fail the command type's schema, with the issues", async () => {
    const response = await nexus.command(acme, { command_type: 'file.delete', params: { path: 42 } });
    const error = await errorOf(response);
    expect(error).toMatchObject({ status: 422, code: 'invalid_params' });
    expect(error.details).toEqual([expect.objectContaining({ path: 'path' })]);
    const red = await nexus.command(acme, { command_type: 'external_share.prepare', params: { recipient: 'not-an-email' } });
    expect(await errorOf(red)).toMatchObject({ status: 422, code: 'invalid_params' });
  });

  it('422: a body that does not match the envelope (missing or unknown fields)', async () => {
    expect(await errorOf(await nexus.command(acme, { params: {} }))).toMatchObject({ status: 422, code: 'validation_failed' });
    expect(await errorOf(await nexus.command(acme, { ...echo(), param: {} }))).toMatchObject({ status: 422, code: 'validation_failed' });
    expect(await errorOf(await nexus.command(acme, [1, 2]))).toMatchObject({ status: 422, code: 'validation_failed' });
  });

  it('422: a body nesting deeper than MAX_JSON_DEPTH, however small; the process stays up and serves the next command', async () => {
    const deep = `{"command_type":"echo.test","params":{"a":${'['.repeat(900)}${']'.repeat(900)}}}`;
    expect(deep.length).toBeLessThan(2048);
    expect(await errorOf(await nexus.command(acme, deep))).toMatchObject({ status: 422, code: 'too_deep' });
    expect((await nexus.command(acme, echo())).status).toBe(202);
  });

  it('404: an unknown route, as JSON', async () => {
    const response = await nexus.get('/nowhere', acme);
    expect(await errorOf(response)).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('405: a known route asked with a method it does not answer, with Allow', async () => {
    const snapshot = await fetch(`${nexus.url}/agent/snapshot`, { method: 'POST', headers: nexus.headers(acme) });
    expect(await errorOf(snapshot)).toMatchObject({ status: 405, code: 'method_not_allowed' });
    expect(snapshot.headers.get('allow')).toBe('GET');
    const decide = await fetch(`${nexus.url}/approvals/ask-1/decide`, { method: 'GET', headers: nexus.headers(acme) });
    expect(await errorOf(decide)).toMatchObject({ status: 405 });
    expect(decide.headers.get('allow')).toBe('POST');
    const health = await fetch(`${nexus.url}/health`, { method: 'DELETE' });
    expect(health.status).toBe(405);
  });
});

describe('GET /agent/reports and /agent/snapshot', () => {
  it('pages the history by position', async () => {
    const tenant = { org_id: 'paging', project_id: 'p' };
    for (let i = 0; i < 5; i++) expect((await nexus.command(tenant, echo({ i }))).status).toBe(202);
    const all: Array<{ position: number }> = [];
    for (let after = 0; ; ) {
      const page = (await (await nexus.get(`/agent/reports?after=${after}&limit=3`, tenant)).json()) as {
        reports: Array<{ position: number }>;
        next_after: number;
        has_more: boolean;
      };
      all.push(...page.reports);
      after = page.next_after;
      if (!page.has_more) break;
    }
    const positions = all.map((r) => r.position);
    expect(new Set(positions).size).toBe(positions.length);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(all.length).toBeGreaterThanOrEqual(10);
  });

  it('400: a query that is not a position', async () => {
    expect(await errorOf(await nexus.get('/agent/reports?after=abc', acme))).toMatchObject({ status: 400, code: 'invalid_query' });
    expect(await errorOf(await nexus.get('/agent/reports?limit=0', acme))).toMatchObject({ status: 400, code: 'invalid_query' });
    expect(await errorOf(await nexus.get('/agent/reports/stream?last_event_id=-1', acme))).toMatchObject({ status: 400, code: 'invalid_query' });
    const badHeader = await nexus.get('/agent/reports/stream', acme, { 'last-event-id': 'report-001' });
    expect(await errorOf(badHeader)).toMatchObject({ status: 400, code: 'invalid_last_event_id' });
  });

  it('serves the snapshot of the tenant', async () => {
    const snapshot = (await (await nexus.get('/agent/snapshot', acme)).json()) as Record<string, unknown>;
    expect(snapshot).toMatchObject({ org_id: 'acme', project_id: 'web', autopilot: expect.any(Object), memory: {}, sidecar: expect.any(Object) });
    expect(snapshot.position).toEqual(expect.any(Number));
    expect(Array.isArray(snapshot.worklog)).toBe(true);
    expect(Array.isArray(snapshot.asks)).toBe(true);
  });
});

describe('operations', () => {
  it('GET /health needs no key and then tells only the status; with the admin key, the store and gauges too', async () => {
    const response = await fetch(`${nexus.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
    for (const key of [API_KEY, 'a-wrong-key-0123456789']) {
      expect(await (await fetch(`${nexus.url}/health`, { headers: { 'x-api-key': key } })).json()).toEqual({ status: 'ok' });
    }
    const admin = await fetch(`${nexus.url}/health`, { headers: { 'x-api-key': ADMIN_KEY } });
    expect(await admin.json()).toMatchObject({ status: 'ok', mode: 'embedded', auth: 'api-key', store: { status: 'ok', position: expect.any(Number) } });
  });

  it('GET /openapi.json describes the routes from their zod schemas', async () => {
    const doc = (await (await fetch(`${nexus.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { required: string[]; properties: object } }> } }>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/sidecar/command',
        '/agent/reports/stream',
        '/agent/reports',
        '/agent/snapshot',
        '/agent/snapshot/diff',
        '/agent/autopilot',
        '/approvals/{ask_id}/decide',
        '/approvals',
        '/audit/approvals',
        '/audit/verify',
        '/shares/{token}',
        '/health',
      ]),
    );
    const body = doc.paths['/sidecar/command']!.post!.requestBody!.content['application/json']!.schema;
    expect(body.required).toEqual(['command_type']);
    expect(Object.keys(body.properties)).toEqual(['command_type', 'params', 'correlation_id', 'description']);
  });
});

describe('rate limits', () => {
  it('429 with Retry-After once a tenant exceeds its burst, other tenants unaffected', async () => {
    const limited = await startTestNexus({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '3' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await limited.command(acme, echo())).status);
      expect(statuses.slice(0, 3)).toEqual([202, 202, 202]);
      expect(statuses.slice(3)).toEqual([429, 429]);
      const refused = await limited.command(acme, echo());
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await errorOf(refused)).toMatchObject({ status: 429, code: 'rate_limited' });
      expect((await limited.command({ org_id: 'other', project_id: 'web' }, echo())).status).toBe(202);
    } finally {
      await limited.stop();
    }
  });
});

describe('attempts at keys', () => {
  it('an address that keeps sending wrong keys, or signing in, gets 429 before its key is looked at; good keys from it then wait too', async () => {
    const limited = await startTestNexus({ AUTH_FAILURES_PER_MINUTE: '5' });
    try {
      const wrong = () => limited.command(acme, echo(), { 'x-api-key': 'not-the-key-0123456789' });
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) statuses.push((await wrong()).status);
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
      const refused = await limited.command(acme, echo());
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await errorOf(refused)).toMatchObject({ code: 'too_many_auth_attempts' });
    } finally {
      await limited.stop();
    }
    const signIns = await startTestNexus({ AUTH_FAILURES_PER_MINUTE: '3' });
    try {
      const signIn = () => fetch(`${signIns.url}/session`, { method: 'POST', headers: signIns.headers(acme) });
      expect([(await signIn()).status, (await signIn()).status, (await signIn()).status, (await signIn()).status]).toEqual([201, 201, 201, 429]);
    } finally {
      await signIns.stop();
    }
  });
});
