import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/events/tenant.js';
import { HELD_TYPE } from '../support/hostile-bodies.js';
import { hostileRequest, TENANTS, type DocumentedRoute } from '../support/hostile-requests.js';
import { toWire, type Arena, type WireRequest } from '../support/hostile-wire.js';
import { malformedMessage, malformedToWire } from '../support/malformed-http.js';
import { spawnNexus, type NexusProcess } from '../support/nexus-process.js';
import { ADMIN_KEY, API_KEY } from '../support/nexus.js';
import { headerOf, rawExchange, type RawOutcome, type RawResponse } from '../support/raw-http.js';
import { waitUntil } from '../support/wait.js';

// The issue's property: random, deep, huge and malformed bodies, headers and query strings at
// every route of a NEXUS process (the routes of its own /openapi.json, plus undocumented paths
// and wrong methods) get no 5xx but 503 — neither answered nor logged —, errors shaped
// {"error":{"code","message"}}, no hang; the process stays up and every 202 is in the log.
// Requests go over raw sockets, so header values outside Latin-1, lies about a body's length and
// broken HTTP syntax reach NEXUS as sent. fast-check picks a new seed each run and prints it with
// the shrunk batch on a failure; FC_SEED (and FC_PATH) replay one, HOSTILE_RUNS and
// MALFORMED_RUNS run longer.

const MAX_BODY_BYTES = 65_536;
/** Requests in flight at once: one property run sends a batch of up to this many together. */
const BATCH = 8;
/** Far longer than any answer takes here: past it, a request is reported as hanging. */
const ANSWER_TIMEOUT_MS = 5_000;
/** A key of its own for reading the log back: the fuzzed keys' budgets for reads of history are spent. */
const CHECKER_KEY = 'hostile-checker-key-0123456789';
const replay =
  process.env.FC_SEED === undefined
    ? {}
    : { seed: Number(process.env.FC_SEED), ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}) };

type Accepted =
  | { readonly kind: 'command'; readonly tenant: Tenant; readonly command_id: string; readonly request: string }
  | {
      readonly kind: 'decision';
      readonly tenant: Tenant;
      readonly ask_id: string;
      readonly decision: string;
      readonly request: string;
    }
  | {
      readonly kind: 'requeue' | 'discard';
      readonly tenant: Tenant;
      readonly command_id: string;
      readonly request: string;
    };

let nexus: NexusProcess;
let arena: Arena;
let routes: DocumentedRoute[];
let exited: { code: number | null } | undefined;
/** The requests in flight when NEXUS was first seen gone. */
let inFlightAtExit: string | undefined;
const accepted: Accepted[] = [];

async function signIn(key: string, tenant: Tenant): Promise<{ cookie: string; csrf: string }> {
  const response = await fetch(`${nexus.url}/session`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'x-org-id': tenant.org_id, 'x-project-id': tenant.project_id },
  });
  expect(response.status).toBe(201);
  const { csrf_token } = (await response.json()) as { csrf_token: string };
  return { cookie: response.headers.get('set-cookie')!.split(';')[0]!, csrf: csrf_token };
}

beforeAll(async () => {
  nexus = await spawnNexus(
    {
      NEXUS_DATA_DIR: mkdtempSync(join(tmpdir(), 'nexus-hostile-')),
      MAX_BODY_BYTES: String(MAX_BODY_BYTES),
      RATE_LIMIT_PER_SECOND: '0',
      AUTH_FAILURES_PER_MINUTE: '0',
      MAX_RETRIES: '0',
      NEXUS_PRINCIPALS: JSON.stringify([
        {
          id: 'checker',
          key_sha256: createHash('sha256').update(CHECKER_KEY).digest('hex'),
          roles: ['requester'],
          tenants: ['*/*'],
        },
      ]),
      // test.fatal fails with BAD_INPUT: held, so an admin requeue or discard can be accepted.
      AUTO_HOLD_FAILURE_CODES: 'BAD_INPUT,SCHEMA_PARSE_ERROR,SCHEMA_VALIDATION_ERROR',
    },
    { testCommands: true },
  );
  void nexus.exited.then((code) => (exited = { code }));
  const document = (await (await fetch(`${nexus.url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  routes = Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.keys(operations).map((method) => ({ method: method.toUpperCase(), path })),
  );
  const sessionTenant = TENANTS[0];
  const [user, admin] = [await signIn(API_KEY, sessionTenant), await signIn(ADMIN_KEY, sessionTenant)];
  const token = user.cookie.slice(user.cookie.indexOf('=') + 1);
  const middle = Math.floor(token.length / 2);
  arena = {
    port: Number(new URL(nexus.url).port),
    sessionTenant,
    secrets: {
      'api-key': API_KEY,
      'admin-key': ADMIN_KEY,
      'session-cookie': user.cookie,
      'admin-session-cookie': admin.cookie,
      'tampered-session-cookie': `nexus_session=${token.slice(0, middle)}${token[middle] === 'A' ? 'B' : 'A'}${token.slice(middle + 1)}`,
      csrf: user.csrf,
      'admin-csrf': admin.csrf,
    },
    known: { ask: [], command: [], held: [], token: [] },
  };
});

afterAll(async () => {
  if (nexus && !exited) await nexus.kill('SIGTERM');
});

const isJson = (response: RawResponse) =>
  /^application\/([\w.+-]*\+)?json/i.test(headerOf(response, 'content-type') ?? '');

function parseJson(response: RawResponse): { value?: unknown; error?: string } {
  try {
    return { value: JSON.parse(response.body.toString('utf8')) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

const isErrorBody = (value: unknown): boolean => {
  const error = (value as { error?: Record<string, unknown> } | null)?.error;
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.keys(value).length === 1 &&
    typeof error === 'object' &&
    error !== null &&
    typeof error.code === 'string' &&
    typeof error.message === 'string' &&
    Object.keys(error).every((key) => ['code', 'message', 'details'].includes(key))
  );
};

/** What is wrong with one answer, if anything. */
function problemsOf(response: RawResponse, head: boolean): string[] {
  const problems: string[] = [];
  if (response.status >= 500 && response.status !== 503)
    problems.push(`answered ${response.status}, a 5xx other than 503`);
  if (response.status === 405 && headerOf(response, 'allow') === undefined)
    problems.push('answered 405 without an Allow header');
  if (response.status === 429 && headerOf(response, 'retry-after') === undefined)
    problems.push('answered 429 without a Retry-After header');
  // An answer with a correlation id came through NEXUS's own middleware: its errors are JSON.
  if (!head && response.status >= 400 && headerOf(response, 'x-correlation-id') !== undefined && !isJson(response)) {
    problems.push(
      `answered ${response.status} through NEXUS with a ${headerOf(response, 'content-type') ?? 'missing'} content type, not a JSON error`,
    );
  }
  if (!head && isJson(response) && response.body.length > 0) {
    const { value, error } = parseJson(response);
    if (error !== undefined)
      problems.push(`answered ${response.status} with a JSON content type and a body that is not JSON (${error})`);
    else if (response.status >= 400 && !isErrorBody(value))
      problems.push(`answered ${response.status} with an error body not shaped {"error":{"code","message"}}`);
  }
  return problems;
}

function problemsWith(wire: WireRequest, outcome: RawOutcome): string[] {
  switch (outcome.kind) {
    case 'timeout':
      return [`no answer and no close within ${ANSWER_TIMEOUT_MS} ms (received ${JSON.stringify(outcome.received)})`];
    case 'closed':
      return wire.mayDrop
        ? []
        : [
            `closed the connection without an answer (${outcome.error ?? 'no error'}; received ${JSON.stringify(outcome.received)})`,
          ];
    case 'stream':
      return problemsOf(outcome.response, true);
    case 'responses':
      return outcome.responses.flatMap((response) => problemsOf(response, wire.head));
  }
}

/** A 202 names what it recorded: remember it, and the ids path parameters may name next (share links too). */
function remember(wire: WireRequest, outcome: RawOutcome): void {
  if (outcome.kind !== 'responses') return;
  for (const response of outcome.responses) {
    const body = wire.head ? undefined : (parseJson(response).value as Record<string, unknown> | undefined);
    if (typeof body !== 'object' || body === null) continue;
    const { tenant, text: request } = wire;
    if (response.status === 200 && typeof body.share_url === 'string')
      arena.known.token.push({ id: body.share_url.split('/').pop()!, tenant });
    if (response.status !== 202) continue;
    if (typeof body.command_id === 'string' && typeof body.task_id === 'string') {
      accepted.push({ kind: 'command', tenant, command_id: body.command_id, request });
      arena.known.command.push({ id: body.command_id, tenant });
      if (wire.commandType === HELD_TYPE) arena.known.held.push({ id: body.command_id, tenant });
      if (typeof body.ask_id === 'string') arena.known.ask.push({ id: body.ask_id, tenant });
    } else if (typeof body.ask_id === 'string' && typeof body.decision === 'string') {
      accepted.push({ kind: 'decision', tenant, ask_id: body.ask_id, decision: body.decision, request });
    } else if ((body.action === 'requeue' || body.action === 'discard') && typeof body.command_id === 'string') {
      accepted.push({ kind: body.action, tenant, command_id: body.command_id, request });
      if (typeof body.ask_id === 'string') arena.known.ask.push({ id: body.ask_id, tenant });
    }
  }
}

const statusOf = (outcome: RawOutcome) =>
  outcome.kind === 'responses'
    ? outcome.responses.map((r) => r.status).join(', ') || '-'
    : outcome.kind === 'stream'
      ? `${outcome.response.status} (stream)`
      : outcome.kind;

/** Lines NEXUS logs when it failed on a request (a 500, whether or not it reached the client) or fatally. */
const isInternalError = (line: Record<string, unknown>) =>
  line.level === 'fatal' ||
  line.msg === 'request failed' ||
  (line.msg === 'request' && Number(line.status) >= 500 && line.status !== 503);

/**
 * Resolves once NEXUS has logged everything it logged before now: a request of our own, whose
 * line comes after every earlier one. Answers the number of log lines up to it.
 */
async function logsSettled(): Promise<number> {
  const marker = `hostile-marker-${Math.random().toString(36).slice(2)}`;
  expect((await fetch(`${nexus.url}/openapi.json`, { headers: { 'x-correlation-id': marker } })).status).toBe(200);
  await waitUntil(() => nexus.logs.some((line) => line.correlation_id === marker), {
    what: 'the marker request in the log',
  });
  return nexus.logs.findIndex((line) => line.correlation_id === marker);
}

/**
 * Sends a batch at once; throws naming each request that broke an assertion, with its answer,
 * and every internal error NEXUS logged for the batch (requests whose answer never arrived too).
 */
async function sendBatch(wires: readonly WireRequest[]): Promise<void> {
  const logsBefore = nexus.logs.length;
  const outcomes = await Promise.all(
    wires.map((wire) => rawExchange({ port: arena.port, ...wire, timeoutMs: ANSWER_TIMEOUT_MS })),
  );
  const failures: string[] = [];
  outcomes.forEach((outcome, i) => {
    remember(wires[i]!, outcome);
    const problems = problemsWith(wires[i]!, outcome);
    if (problems.length === 0) return;
    const answer =
      outcome.kind === 'responses'
        ? outcome.responses.map((r) => `${r.status} ${r.body.toString('utf8').slice(0, 300)}`).join(' | ')
        : statusOf(outcome);
    failures.push(`${problems.join('; ')}\n  request:\n  ${wires[i]!.text}\n  answer: ${answer}`);
  });
  if (exited) {
    inFlightAtExit ??= wires.map((wire) => wire.text).join('\n  ---\n  ');
    failures.push(`NEXUS exited with code ${exited.code}; in flight when it was first seen gone:\n  ${inFlightAtExit}`);
    throw new Error(failures.join('\n\n'));
  }
  const internal = nexus.logs.slice(logsBefore, await logsSettled()).filter(isInternalError);
  if (internal.length > 0) {
    const answers = outcomes.map((outcome, i) => `  ${statusOf(outcome)} <- ${wires[i]!.text}`).join('\n  ---\n');
    failures.push(
      `NEXUS logged an internal error for a request of this batch:\n${internal.map((line) => `  ${JSON.stringify(line)}`).join('\n')}\n the batch:\n${answers}`,
    );
  }
  if (failures.length > 0) throw new Error(failures.join('\n\n'));
}

/** NEXUS has not exited, answers /health with 200, and logged no internal error. */
async function expectStillServing(): Promise<void> {
  expect(exited, `NEXUS exited (in flight: ${inFlightAtExit})`).toBeUndefined();
  await logsSettled();
  const health = await fetch(`${nexus.url}/health`);
  expect(health.status, await health.clone().text()).toBe(200);
  expect(nexus.logs.filter(isInternalError), 'log lines of requests NEXUS failed on (500) or of a fatal error').toEqual(
    [],
  );
}

type Report = { report_type: string; command_id: string | null; payload: Record<string, unknown> };

/** A read of the tenant's history with the checker's key; a 429 is asked again when Retry-After says. */
async function readHistory(tenant: Tenant, path: string): Promise<unknown> {
  const headers = { 'x-api-key': CHECKER_KEY, 'x-org-id': tenant.org_id, 'x-project-id': tenant.project_id };
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`${nexus.url}${path}`, { headers });
    if (response.status !== 429 || attempt === 5) {
      expect(response.status, `${path} in ${tenant.org_id}/${tenant.project_id}`).toBe(200);
      return response.json();
    }
    await setTimeout(Number(response.headers.get('retry-after') ?? 1) * 1000);
  }
}

async function reportsOf(tenant: Tenant): Promise<Report[]> {
  const reports: Report[] = [];
  for (let after = 0, more = true; more;) {
    const page = (await readHistory(tenant, `/agent/reports?after=${after}&limit=1000`)) as {
      reports: Report[];
      next_after: number;
      has_more: boolean;
    };
    reports.push(...page.reports);
    [after, more] = [page.next_after, page.has_more];
  }
  return reports;
}

const DECIDED = { approve: 'approved', deny: 'denied' } as Record<string, string>;

/** Every 202 has its report in the tenant's log, and every such tenant's hash chain holds. */
async function expectEveryAcceptanceInTheLog(): Promise<void> {
  const keyOf = (tenant: Tenant) => `${tenant.org_id}/${tenant.project_id}`;
  const tenants = new Map(accepted.map((entry) => [keyOf(entry.tenant), entry.tenant]));
  const missing: string[] = [];
  for (const [key, tenant] of tenants) {
    const reports = await reportsOf(tenant);
    for (const entry of accepted.filter((e) => keyOf(e.tenant) === key)) {
      const found =
        entry.kind === 'command'
          ? reports.some((r) => r.report_type === 'command_accepted' && r.command_id === entry.command_id)
          : entry.kind === 'decision'
            ? reports.some(
                (r) =>
                  r.report_type === 'ask_resolved' &&
                  r.payload.ask_id === entry.ask_id &&
                  r.payload.decision === DECIDED[entry.decision],
              )
            : reports.some(
                (r) =>
                  r.report_type === (entry.kind === 'requeue' ? 'task_requeued' : 'task_discarded') &&
                  r.command_id === entry.command_id,
              );
      if (!found) missing.push(`a 202 (${entry.kind}) has no report in ${key}: ${JSON.stringify(entry)}`);
    }
    const chain = (await readHistory(tenant, '/audit/verify')) as { ok?: boolean };
    if (chain.ok !== true) missing.push(`the hash chain of ${key} does not hold: ${JSON.stringify(chain)}`);
  }
  expect(missing).toEqual([]);
}

describe('NEXUS under hostile requests', () => {
  it('answers random, deep, huge and malformed requests to every route with no 5xx but 503, stays up, and every 202 is in the log', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(hostileRequest(routes), { minLength: 1, maxLength: BATCH, size: 'max' }),
        async (batch) => {
          await sendBatch(batch.map((request) => toWire(request, arena)));
        },
      ),
      // A failure's shrinking waits on hangs: the time limit bounds it (the failure is still reported).
      { numRuns: Number(process.env.HOSTILE_RUNS ?? 150), interruptAfterTimeLimit: 60_000, ...replay },
    );
    await expectStillServing();
    expect(
      accepted.filter((entry) => entry.kind === 'command').length,
      'the run reached no 202: it proved nothing about the log',
    ).toBeGreaterThan(0);
    await expectEveryAcceptanceInTheLog();
  }, 110_000);

  it('answers malformed HTTP with a 4xx or by closing the connection, and stays up', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(malformedMessage, { minLength: 1, maxLength: BATCH, size: 'max' }), async (batch) => {
        await sendBatch(batch.map((message) => malformedToWire(message, arena)));
      }),
      { numRuns: Number(process.env.MALFORMED_RUNS ?? 100), interruptAfterTimeLimit: 30_000, ...replay },
    );
    await expectStillServing();
    await expectEveryAcceptanceInTheLog();
  }, 60_000);
});
