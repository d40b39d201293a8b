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

describe('POST /sidecar/command over a socket (its other rules: test/unit/command-api.unit.test.ts)', () => {
  it('413: a body streamed past MAX_BODY_BYTES, however it was declared', async () => {
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
    expect((await nexus.command(acme, echo())).status).toBe(202);
  });
});

describe('GET /agent/reports and /agent/snapshot', () => {
  it('pages the history by position', async () => {
    const tenant = { org_id: 'paging', project_id: 'p' };
    for (let i = 0; i < 5; i++) expect((await nexus.command(tenant, echo({ i }))).status).toBe(202);
    const all: Array<{ position: number }> = [];
    for (let after = 0; ;) {
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
    expect(await errorOf(await nexus.get('/agent/reports?after=abc', acme))).toMatchObject({
      status: 400,
      code: 'invalid_query',
    });
    expect(await errorOf(await nexus.get('/agent/reports?limit=0', acme))).toMatchObject({
      status: 400,
      code: 'invalid_query',
    });
    expect(await errorOf(await nexus.get('/agent/reports/stream?last_event_id=-1', acme))).toMatchObject({
      status: 400,
      code: 'invalid_query',
    });
    const badHeader = await nexus.get('/agent/reports/stream', acme, { 'last-event-id': 'report-001' });
    expect(await errorOf(badHeader)).toMatchObject({ status: 400, code: 'invalid_last_event_id' });
  });

  it('serves the snapshot of the tenant', async () => {
    const snapshot = (await (await nexus.get('/agent/snapshot', acme)).json()) as Record<string, unknown>;
    expect(snapshot).toMatchObject({
      org_id: 'acme',
      project_id: 'web',
      autopilot: expect.any(Object),
      memory: {},
      sidecar: expect.any(Object),
    });
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
      expect(await (await fetch(`${nexus.url}/health`, { headers: { 'x-api-key': key } })).json()).toEqual({
        status: 'ok',
      });
    }
    const admin = await fetch(`${nexus.url}/health`, { headers: { 'x-api-key': ADMIN_KEY } });
    expect(await admin.json()).toMatchObject({
      status: 'ok',
      mode: 'embedded',
      auth: 'api-key',
      store: { status: 'ok', position: expect.any(Number) },
    });
  });

  it('GET /openapi.json describes the routes from their zod schemas', async () => {
    const doc = (await (await fetch(`${nexus.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          { requestBody?: { content: Record<string, { schema: { required: string[]; properties: object } }> } }
        >
      >;
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
      expect([
        (await signIn()).status,
        (await signIn()).status,
        (await signIn()).status,
        (await signIn()).status,
      ]).toEqual([201, 201, 201, 429]);
    } finally {
      await signIns.stop();
    }
  });
});
