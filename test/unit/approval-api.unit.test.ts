import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/events/tenant.js';
import { apiSpec, type ApiAnswer, type ApiSpec } from '../support/api-spec.js';
import { testCatalog } from '../support/test-commands.js';

// The rules of POST /approvals/{ask_id}/decide that need no socket, on the API over the
// in-memory log. (Decisions racing on the embedded log, expiry and what runs after: test/int/approvals.int.test.ts.)

const acme: Tenant = { org_id: 'acme', project_id: 'web' };
const acmeOps: Tenant = { org_id: 'acme', project_id: 'ops' };
const globex: Tenant = { org_id: 'globex', project_id: 'web' };
const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const keys = {
  alice: 'alice-key-0123456789',
  bob: 'bob-key-0123456789',
  carol: 'carol-key-0123456789',
  eve: 'eve-key-0123456789',
};
const principals = [
  { id: 'alice', key_sha256: sha(keys.alice), roles: ['requester'], tenants: ['acme/*'] },
  { id: 'bob', key_sha256: sha(keys.bob), roles: ['approver'], tenants: ['acme/*'] },
  { id: 'carol', key_sha256: sha(keys.carol), roles: ['requester', 'approver'], tenants: ['acme/web'] },
  { id: 'eve', key_sha256: sha(keys.eve), roles: ['requester', 'approver'], tenants: ['globex/*'] },
];

let api: ApiSpec;
beforeAll(async () => {
  api = await apiSpec(
    { NEXUS_PRINCIPALS: JSON.stringify(principals), ASK_TTL_SECONDS: '3600' },
    { catalog: testCatalog },
  );
});
afterAll(() => api.close());

async function requestRed(tenant: Tenant, who: keyof typeof keys, note: string) {
  const body = { command_type: 'test.red', params: { file: '/dev/null', note } };
  const answer = await api.when({ method: 'POST', path: '/sidecar/command', tenant, key: keys[who], body });
  expect(answer.status).toBe(202);
  const asked = answer.events.find((e) => e.type === 'AskCreated');
  if (asked?.type !== 'AskCreated') throw new Error('a RED command without an ask');
  return { ask_id: asked.data.ask_id, payload_hash: asked.data.payload_hash };
}

const decide = (tenant: Tenant, askId: string, body: unknown, who: keyof typeof keys) =>
  api.when({ method: 'POST', path: `/approvals/${askId}/decide`, tenant, key: keys[who], body });

/** The status and code of an answer that appended nothing. */
function refused(answer: ApiAnswer): [number, string] {
  expect(answer.events).toEqual([]);
  return [answer.status, (answer.body as { error: { code: string } }).error.code];
}

describe('POST /approvals/{ask_id}/decide', () => {
  it('approve: 202, AskApproved by whom, then TaskQueued', async () => {
    const red = await requestRed(acme, 'alice', 'approve-me');
    const { status, events } = await decide(acme, red.ask_id, { decision: 'approve', reason: 'looks right' }, 'bob');
    expect(status).toBe(202);
    expect(events.map((e) => e.type)).toEqual(['AskApproved', 'TaskQueued']);
    expect(events[0]!.data).toMatchObject({ ask_id: red.ask_id, decided_by: 'bob', reason: 'looks right' });
  });

  it('403 for the requester itself (four eyes) and for a key without the approver role', async () => {
    const red = await requestRed(acme, 'carol', 'self');
    expect(refused(await decide(acme, red.ask_id, { decision: 'approve' }, 'carol'))).toEqual([403, 'self_approval']);
    expect(refused(await decide(acme, red.ask_id, { decision: 'approve' }, 'alice'))).toEqual([403, 'forbidden']);
    expect((await decide(acme, red.ask_id, { decision: 'approve' }, 'bob')).status).toBe(202);
  });

  it("404 for an unknown ask, and for an ask of another tenant, whoever asks; 403 outside the key's tenants", async () => {
    expect(
      refused(await decide(acme, 'ask-00000000-0000-7000-8000-000000000000', { decision: 'approve' }, 'bob')),
    ).toEqual([404, 'ask_not_found']);
    expect(refused(await decide(acme, 'not-an-ask', { decision: 'approve' }, 'bob'))).toEqual([404, 'ask_not_found']);
    const red = await requestRed(acme, 'alice', 'cross');
    expect(refused(await decide(acmeOps, red.ask_id, { decision: 'approve' }, 'bob'))).toEqual([404, 'ask_not_found']);
    expect(refused(await decide(globex, red.ask_id, { decision: 'approve' }, 'eve'))).toEqual([404, 'ask_not_found']);
    expect(refused(await decide(acme, red.ask_id, { decision: 'approve' }, 'eve'))).toEqual([403, 'forbidden_tenant']);
    expect(refused(await decide(globex, red.ask_id, { decision: 'approve' }, 'bob'))).toEqual([
      403,
      'forbidden_tenant',
    ]);
  });

  it('409 when the decider saw another payload than the ask holds; the right one is approved', async () => {
    const red = await requestRed(acme, 'alice', 'hash');
    const forged = { decision: 'approve', payload_hash: 'f'.repeat(64) };
    expect(refused(await decide(acme, red.ask_id, forged, 'bob'))).toEqual([409, 'payload_mismatch']);
    expect(
      (await decide(acme, red.ask_id, { decision: 'approve', payload_hash: red.payload_hash }, 'bob')).status,
    ).toBe(202);
  });

  it('409 once decided, whichever way', async () => {
    const red = await requestRed(acme, 'alice', 'twice');
    expect((await decide(acme, red.ask_id, { decision: 'deny' }, 'bob')).status).toBe(202);
    expect(refused(await decide(acme, red.ask_id, { decision: 'approve' }, 'bob'))).toEqual([409, 'ask_denied']);
  });

  it('422 for a body that does not match', async () => {
    const red = await requestRed(acme, 'alice', 'body');
    for (const body of [
      { decision: 'maybe' },
      {},
      { decision: 'approve', extra: 1 },
      { decision: 'approve', payload_hash: 'xyz' },
    ]) {
      expect(refused(await decide(acme, red.ask_id, body, 'bob'))).toEqual([422, 'validation_failed']);
    }
  });
});
