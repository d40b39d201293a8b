import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/events/tenant.js';
import { startTestNexus, type TestNexus } from '../support/nexus.js';
import type { SseClient } from '../support/sse-client.js';

// The RED commands' executors against real local servers: an SMTP server (smtp-server) and a
// payment webhook that honours Idempotency-Key and fails its first answer.

const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const keys = { alice: 'alice-key-0123456789', bob: 'bob-key-0123456789' };
const principals = [
  { id: 'alice', key_sha256: sha(keys.alice), roles: ['requester'], tenants: ['shop/*'] },
  { id: 'bob', key_sha256: sha(keys.bob), roles: ['approver'], tenants: ['shop/*'] },
];
const tenant: Tenant = { org_id: 'shop', project_id: 'web' };

interface Mail {
  from: string;
  to: string[];
  raw: string;
}
const mails: Mail[] = [];
const payments = new Map<string, { count: number; body: Record<string, unknown> }>();
const paymentRequests: Array<{ key: string | undefined; signature: string | undefined }> = [];
let smtp: SMTPServer;
let webhook: Server;
let nexus: TestNexus;
let stream: SseClient;

const listen = (server: { listen: (port: number, host: string, done: () => void) => unknown }) =>
  new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const readBody = async (request: IncomingMessage) => {
  let text = '';
  for await (const chunk of request) text += chunk;
  return text;
};

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(data, session, done) {
      let raw = '';
      data.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      data.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
        });
        done();
      });
    },
  });
  await listen(smtp.server);
  // A provider that records a payment once per Idempotency-Key, and fails its first answer
  // (after recording it): the task is retried with the same key.
  webhook = createServer(async (request, response) => {
    const body = JSON.parse(await readBody(request)) as Record<string, unknown>;
    const key = request.headers['idempotency-key'] as string | undefined;
    paymentRequests.push({ key, signature: request.headers['x-nexus-signature'] as string | undefined });
    if (!key) return void response.writeHead(400).end('idempotency key required');
    const known = payments.get(key);
    if (known) known.count++;
    else payments.set(key, { count: 1, body });
    if (!known) return void response.writeHead(503).end('try again');
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ payment_id: `pay-${key}` }));
  });
  await listen(webhook);
  nexus = await startTestNexus({
    NEXUS_PRINCIPALS: JSON.stringify(principals),
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String((smtp.server.address() as AddressInfo).port),
    SMTP_FROM: 'nexus@shop.example',
    PAYMENT_WEBHOOK_URL: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/pay`,
    PAYMENT_WEBHOOK_SECRET: 'webhook-secret-0123',
    RETRY_BASE_DELAY_MS: '20',
  });
  stream = await nexus.stream(tenant, { lastEventId: 0 });
});

afterAll(async () => {
  stream.close();
  await nexus.stop();
  await new Promise((resolve) => smtp.close(() => resolve(undefined)));
  await new Promise((resolve) => webhook.close(resolve));
});

async function requestAs(who: keyof typeof keys, command_type: string, params: Record<string, unknown>) {
  const response = await nexus.command(tenant, { command_type, params }, { 'x-api-key': keys[who] });
  expect(response.status).toBe(202);
  return (await response.json()) as { command_id: string; ask_id: string };
}

const decide = (askId: string, decision: 'approve' | 'deny') =>
  fetch(`${nexus.url}/approvals/${askId}/decide`, {
    method: 'POST',
    headers: { ...nexus.headers(tenant, { 'x-api-key': keys.bob }), 'content-type': 'application/json' },
    body: JSON.stringify({ decision }),
  });

const reportsOf = (commandId: string) => stream.reports.filter((r) => r.command_id === commandId);

describe('email.send', () => {
  it('delivers to the SMTP server only after approval, exactly once', async () => {
    const { command_id, ask_id } = await requestAs('alice', 'email.send', {
      to: 'customer@example.com',
      subject: 'Your order',
      text: 'It ships today.',
    });
    await stream.until(() => reportsOf(command_id).some((r) => r.report_type === 'ask_created'));
    expect(mails).toHaveLength(0);
    expect((await decide(ask_id, 'approve')).status).toBe(202);
    await stream.until(() => reportsOf(command_id).some((r) => r.report_type === 'task_completed'));
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ from: 'nexus@shop.example', to: ['customer@example.com'] });
    expect(mails[0]!.raw).toContain('Subject: Your order');
    expect(mails[0]!.raw).toContain(`Message-ID: <${command_id}@nexus>`);
    expect(mails[0]!.raw).toContain('It ships today.');
  });

  it('a denied email is never sent', async () => {
    const before = mails.length;
    const { command_id, ask_id } = await requestAs('alice', 'email.send', {
      to: 'x@example.com',
      subject: 'No',
      text: 'no',
    });
    await stream.until(() => reportsOf(command_id).some((r) => r.report_type === 'ask_created'));
    expect((await decide(ask_id, 'deny')).status).toBe(202);
    await stream.until(() => reportsOf(command_id).some((r) => r.report_type === 'ask_resolved'));
    expect(mails.length).toBe(before);
    expect(reportsOf(command_id).map((r) => r.report_type)).not.toContain('task_started');
  });
});

describe('payment.execute', () => {
  it('pays once per approval even when the task is retried: one Idempotency-Key, signed', async () => {
    const { command_id, ask_id } = await requestAs('alice', 'payment.execute', {
      amount: 42.5,
      currency: 'EUR',
      payee: 'ACME GmbH',
      reference: 'inv-7',
    });
    await stream.until(() => reportsOf(command_id).some((r) => r.report_type === 'ask_created'));
    expect(paymentRequests).toHaveLength(0);
    expect((await decide(ask_id, 'approve')).status).toBe(202);
    await stream.until(() => reportsOf(command_id).some((r) => r.report_type === 'task_completed'));
    const types = reportsOf(command_id).map((r) => r.report_type);
    expect(types.filter((t) => t === 'task_failed')).toHaveLength(1); // the provider's 503
    expect(types.filter((t) => t === 'task_completed')).toHaveLength(1);
    const key = `nexus-${command_id}`;
    expect(paymentRequests.map((r) => r.key)).toEqual([key, key]);
    expect(payments.size).toBe(1);
    expect(payments.get(key)!.body).toMatchObject({
      amount: 42.5,
      currency: 'EUR',
      payee: 'ACME GmbH',
      reference: 'inv-7',
      command_id,
    });
    expect(paymentRequests.every((r) => /^[0-9a-f]{64}$/.test(r.signature ?? ''))).toBe(true);
    const completed = reportsOf(command_id).find((r) => r.report_type === 'task_completed')!;
    expect(completed.payload.result).toMatchObject({
      status: 200,
      idempotency_key: key,
      response: { payment_id: `pay-${key}` },
    });
  });
});
