import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/events/tenant.js';
import { apiSpec, type ApiAnswer, type ApiRequest, type ApiSpec } from '../support/api-spec.js';
import { API_KEY, ADMIN_KEY } from '../support/nexus.js';

// The rules of POST /sidecar/command that need no socket, on the API over the in-memory log:
// when a request, then its status and what it appended. (Bodies streamed past MAX_BODY_BYTES
// need a socket: test/int/http-api.int.test.ts.)

const acme: Tenant = { org_id: 'acme', project_id: 'web' };
const echo = (params: unknown = { hello: 'world' }) => ({ command_type: 'echo.test', params });
const command = (body: unknown, headers: Record<string, string> = {}, extra: Partial<ApiRequest> = {}): ApiRequest => ({
  method: 'POST',
  path: '/sidecar/command',
  tenant: acme,
  body,
  headers,
  ...extra,
});

let api: ApiSpec;
beforeAll(async () => {
  api = await apiSpec({ MAX_BODY_BYTES: '2048' });
});
afterAll(() => api.close());

/** The error of an answer that appended nothing. */
function refused(answer: ApiAnswer) {
  expect(answer.events).toEqual([]);
  expect(answer.headers.get('content-type')).toMatch(/application\/json/);
  const { error } = answer.body as { error: { code: string; message: string; details?: unknown } };
  expect(typeof error.message).toBe('string');
  return { status: answer.status, code: error.code, details: error.details };
}

describe('POST /sidecar/command', () => {
  it('answers 202 with the ids once CommandAccepted and TaskQueued are recorded', async () => {
    const { status, body, headers, events } = await api.when(command({ ...echo(), correlation_id: 'test-001' }));
    expect(status).toBe(202);
    expect(body).toMatchObject({
      status: 'accepted',
      correlation_id: 'test-001',
      risk_level: 'GREEN',
      command_id: expect.stringMatching(/^cmd-/),
    });
    expect(headers.get('x-correlation-id')).toBe('test-001');
    const { command_id } = body as { command_id: string };
    expect(events.map((e) => [e.type, e.stream, e.metadata.correlation_id])).toEqual([
      ['CommandAccepted', `command-${command_id}`, 'test-001'],
      ['TaskQueued', `command-${command_id}`, 'test-001'],
    ]);
  });

  it('generates a correlation id when the client sends none, and takes x-correlation-id when the body has none', async () => {
    const generated = await api.when(command(echo()));
    const { correlation_id } = generated.body as { correlation_id: string };
    expect(correlation_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(generated.headers.get('x-correlation-id')).toBe(correlation_id);
    const fromHeader = await api.when(command(echo(), { 'x-correlation-id': 'from-header-1' }));
    expect(fromHeader.body).toMatchObject({ correlation_id: 'from-header-1' });
    expect(fromHeader.events.every((e) => e.metadata.correlation_id === 'from-header-1')).toBe(true);
  });

  it('gives RED commands an ask (and no queued task) and YELLOW ones their level with a warning', async () => {
    const red = await api.when(
      command({ command_type: 'external_share.prepare', params: { recipient: 'test@example.com' } }),
    );
    expect(red.body).toMatchObject({ risk_level: 'RED', ask_id: expect.stringMatching(/^ask-/) });
    expect(red.events.map((e) => e.type)).toEqual(['CommandAccepted', 'AskCreated']);
    const yellow = await api.when(command({ command_type: 'data.export', params: {} }));
    expect(yellow.body).toMatchObject({ risk_level: 'YELLOW' });
    expect(yellow.events.map((e) => e.type)).toEqual(['CommandAccepted', 'RiskWarningRaised', 'TaskQueued']);
  });

  it('accepts the admin key wherever the client key is accepted, and records who sent it', async () => {
    const { status, events } = await api.when(command(echo(), {}, { key: ADMIN_KEY }));
    expect(status).toBe(202);
    expect(events[0]!.metadata.actor).toBe('admin');
  });

  it('400: a body that is not JSON', async () => {
    expect(refused(await api.when(command('{"command_type": ')))).toMatchObject({ status: 400, code: 'invalid_json' });
    expect(refused(await api.when(command('')))).toMatchObject({ status: 400, code: 'invalid_json' });
  });

  it('400: missing or unsafe tenant headers', async () => {
    expect(refused(await api.when(command(echo(), {}, { tenant: undefined })))).toMatchObject({
      status: 400,
      code: 'missing_tenant',
    });
    for (const org of ['../etc', 'a b', 'x'.repeat(65), 'org/evil', '-leading']) {
      expect(
        refused(await api.when(command(echo(), {}, { tenant: { org_id: org, project_id: 'web' } }))),
      ).toMatchObject({ status: 400, code: 'invalid_tenant' });
    }
  });

  it('400: a bad Idempotency-Key or x-correlation-id', async () => {
    expect(refused(await api.when(command(echo(), { 'idempotency-key': 'x'.repeat(300) })))).toMatchObject({
      status: 400,
      code: 'invalid_idempotency_key',
    });
    expect(refused(await api.when(command(echo(), { 'x-correlation-id': 'y'.repeat(129) })))).toMatchObject({
      status: 400,
      code: 'invalid_correlation_id',
    });
  });

  it('401: no key or a wrong key, checked before anything else', async () => {
    expect(refused(await api.when(command(undefined, {}, { key: null })))).toMatchObject({
      status: 401,
      code: 'missing_api_key',
    });
    expect(refused(await api.when(command(echo(), {}, { key: `${API_KEY}x` })))).toMatchObject({
      status: 401,
      code: 'invalid_api_key',
    });
    expect(
      refused(await api.when({ path: '/agent/reports/stream', tenant: acme, key: 'nope-nope-nope' })),
    ).toMatchObject({ status: 401, code: 'invalid_api_key' });
  });

  it('413: a body declared over MAX_BODY_BYTES', async () => {
    expect(refused(await api.when(command(echo({ blob: 'x'.repeat(4096) }))))).toMatchObject({
      status: 413,
      code: 'payload_too_large',
    });
  });

  it('415: a body that is not sent as JSON', async () => {
    const answer = await api.when(command(JSON.stringify(echo()), { 'content-type': 'text/plain' }));
    expect(refused(answer)).toMatchObject({ status: 415, code: 'unsupported_media_type' });
  });

  it('422: an unknown command type', async () => {
    expect(refused(await api.when(command({ command_type: 'rm.everything', params: {} })))).toMatchObject({
      status: 422,
      code: 'unknown_command_type',
    });
  });

  it("422: params that fail the command type's schema, with the issues", async () => {
    const error = refused(await api.when(command({ command_type: 'file.delete', params: { path: 42 } })));
    expect(error).toMatchObject({ status: 422, code: 'invalid_params' });
    expect(error.details).toEqual([expect.objectContaining({ path: 'path' })]);
    expect(
      refused(
        await api.when(command({ command_type: 'external_share.prepare', params: { recipient: 'not-an-email' } })),
      ),
    ).toMatchObject({ status: 422, code: 'invalid_params' });
  });

  it('422: a body that does not match the envelope (missing or unknown fields)', async () => {
    expect(refused(await api.when(command({ params: {} })))).toMatchObject({ status: 422, code: 'validation_failed' });
    expect(refused(await api.when(command({ ...echo(), param: {} })))).toMatchObject({
      status: 422,
      code: 'validation_failed',
    });
    expect(refused(await api.when(command([1, 2])))).toMatchObject({ status: 422, code: 'validation_failed' });
  });

  it('422: a body nesting deeper than MAX_JSON_DEPTH, however small; the next command is served', async () => {
    const deep = `{"command_type":"echo.test","params":{"a":${'['.repeat(900)}${']'.repeat(900)}}}`;
    expect(deep.length).toBeLessThan(2048);
    expect(refused(await api.when(command(deep)))).toMatchObject({ status: 422, code: 'too_deep' });
    expect((await api.when(command(echo()))).status).toBe(202);
  });

  it('404: an unknown route, as JSON', async () => {
    expect(refused(await api.when({ path: '/nowhere', tenant: acme }))).toMatchObject({
      status: 404,
      code: 'not_found',
    });
  });

  it('405: a known route asked with a method it does not answer, with Allow', async () => {
    const snapshot = await api.when({ method: 'POST', path: '/agent/snapshot', tenant: acme });
    expect(refused(snapshot)).toMatchObject({ status: 405, code: 'method_not_allowed' });
    expect(snapshot.headers.get('allow')).toBe('GET');
    const decide = await api.when({ path: '/approvals/ask-1/decide', tenant: acme });
    expect(refused(decide)).toMatchObject({ status: 405 });
    expect(decide.headers.get('allow')).toBe('POST');
    expect((await api.when({ method: 'DELETE', path: '/health', key: null })).status).toBe(405);
  });
});
