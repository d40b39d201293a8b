import { connect } from 'node:net';
import { waitUntil } from '../support/wait.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/events/tenant.js';
import { ADMIN_KEY, API_KEY, startTestNexus, type TestNexus } from '../support/nexus.js';
import type { SseClient } from '../support/sse-client.js';

const acme: Tenant = { org_id: 'acme', project_id: 'web' };

let nexus: TestNexus;
beforeAll(async () => {
  nexus = await startTestNexus({ SSE_HEARTBEAT_SECONDS: '0.05', SSE_STALL_TIMEOUT_SECONDS: '1' });
});
afterAll(() => nexus.stop());

async function send(tenant: Tenant, count: number, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await nexus.command(tenant, {
      command_type: 'echo.test',
      params: { i },
      correlation_id: `${prefix}-${i}`,
    });
    expect(response.status).toBe(202);
    ids.push(((await response.json()) as { command_id: string }).command_id);
  }
  return ids;
}

const completed = (client: SseClient, commandIds: readonly string[]) => () => {
  const done = new Set(client.reports.filter((r) => r.report_type === 'task_completed').map((r) => r.command_id));
  return commandIds.every((id) => done.has(id));
};

async function history(tenant: Tenant): Promise<number[]> {
  const positions: number[] = [];
  for (let after = 0; ;) {
    const page = (await (await nexus.get(`/agent/reports?after=${after}&limit=1000`, tenant)).json()) as {
      reports: Array<{ position: number }>;
      next_after: number;
      has_more: boolean;
    };
    positions.push(...page.reports.map((r) => r.position));
    after = page.next_after;
    if (!page.has_more) return positions;
  }
}

const ids = (client: SseClient) => client.events.filter((e) => e.event === 'report').map((e) => Number(e.id));

describe('GET /agent/reports/stream', () => {
  it('sends retry, then the snapshot, then a report per change with id = position', async () => {
    const client = await nexus.stream(acme);
    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(client.headers['cache-control']).toBe('no-cache');
    expect(client.headers['x-accel-buffering']).toBe('no');
    await client.until((c) => c.events.length >= 1);
    expect(client.retry).toBe(3000);
    expect(client.events[0]!.event).toBe('snapshot');
    const snapshot = client.snapshot!;
    expect(Object.keys(snapshot)).toEqual([
      'autopilot',
      'worklog',
      'asks',
      'memory',
      'sidecar',
      'dead_letters',
      'org_id',
      'project_id',
      'position',
      'timestamp',
    ]);
    expect(client.events[0]!.id).toBe(String(snapshot.position));

    const [commandId] = await send(acme, 1, 'live');
    await client.until(completed(client, [commandId!]));
    const mine = client.reports.filter((r) => r.command_id === commandId);
    expect(mine.map((r) => r.report_type)).toEqual([
      'command_accepted',
      'task_queued',
      'task_started',
      'task_completed',
    ]);
    expect(mine.every((r) => r.correlation_id === 'live-0')).toBe(true);
    for (const event of client.events.filter((e) => e.event === 'report')) {
      expect(Number(event.id)).toBe((JSON.parse(event.data) as { position: number }).position);
    }
    client.close();
  });

  it('replays from 0, from the middle and from the latest position with no gap and no duplicate', async () => {
    const tenant = { org_id: 'replay', project_id: 'p' };
    const commandIds = await send(tenant, 10, 'r');
    const live = await nexus.stream(tenant, { lastEventId: 0 });
    await live.until(completed(live, commandIds));
    live.close();
    const all = await history(tenant);
    expect(all.length).toBe(40);

    const clients = [];
    for (const from of [0, all[17]!, all[all.length - 1]!]) {
      const client = await nexus.stream(tenant, { lastEventId: from });
      await client.until((c) => c.events.length >= 1 + all.filter((p) => p > from).length);
      expect(client.events[0]!.event).toBe('snapshot');
      expect(client.snapshot!.position).toBe(from);
      clients.push({ from, client });
    }
    // one more command: each replaying client now has exactly the history after its position
    const [later] = await send(tenant, 1, 'r-later');
    for (const { client } of clients) await client.until(completed(client, [later!]));
    const now = await history(tenant);
    for (const { from, client } of clients) {
      expect(ids(client)).toEqual(now.filter((p) => p > from));
      client.close();
    }
  });

  it('resumes by ?last_event_id= for browsers, and then follows live', async () => {
    const tenant = { org_id: 'browser', project_id: 'p' };
    const first = await send(tenant, 3, 'b');
    const watcher = await nexus.stream(tenant, { lastEventId: 0 });
    await watcher.until(completed(watcher, first));
    watcher.close();
    const all = await history(tenant);
    const resumeAt = all[5]!;
    const client = await nexus.stream(tenant, { query: `?last_event_id=${resumeAt}` });
    const later = await send(tenant, 2, 'b-later');
    await client.until(completed(client, later));
    const expected = (await history(tenant)).filter((p) => p > resumeAt);
    expect(ids(client)).toEqual(expected);
    client.close();
  });

  it('prefers the Last-Event-ID header over the query parameter', async () => {
    const tenant = { org_id: 'both', project_id: 'p' };
    const commandIds = await send(tenant, 2, 'h');
    const watcher = await nexus.stream(tenant, { lastEventId: 0 });
    await watcher.until(completed(watcher, commandIds));
    watcher.close();
    const all = await history(tenant);
    const client = await nexus.stream(tenant, { lastEventId: all[3]!, query: '?last_event_id=0' });
    await client.until((c) => ids(c).length >= all.length - 4);
    expect(ids(client)).toEqual(all.slice(4));
    client.close();
  });

  it('keeps tenants apart: another org or project sees, replays and reads none of it', async () => {
    const mine = { org_id: 'iso-org', project_id: 'alpha' };
    const otherProject = { org_id: 'iso-org', project_id: 'beta' };
    const otherOrg = { org_id: 'iso-org-2', project_id: 'alpha' };
    const spies = [await nexus.stream(otherProject), await nexus.stream(otherOrg, { lastEventId: 0 })];
    const secret = await send(mine, 3, 'secret');
    const control = await send(otherProject, 1, 'control');
    const watcher = await nexus.stream(mine, { lastEventId: 0 });
    await watcher.until(completed(watcher, secret));
    await spies[0]!.until(completed(spies[0]!, control));
    for (const spy of spies) {
      expect(spy.reports.filter((r) => secret.includes(r.command_id ?? ''))).toEqual([]);
      expect(spy.reports.every((r) => !r.correlation_id.startsWith('secret'))).toBe(true);
    }
    expect(spies[0]!.snapshot).toMatchObject({ org_id: 'iso-org', project_id: 'beta' });
    const replayed = await nexus.stream(otherOrg, { lastEventId: 0 });
    await replayed.until((c) => c.events.length >= 1);
    const otherHistory = await history(otherOrg);
    expect(otherHistory).toEqual([]);
    const otherSnapshot = (await (await nexus.get('/agent/snapshot', otherOrg)).json()) as { worklog: unknown[] };
    expect(otherSnapshot.worklog).toEqual([]);
    for (const client of [...spies, watcher, replayed]) client.close();
  });

  it('sends comment heartbeats on an idle stream', async () => {
    const client = await nexus.stream({ org_id: 'quiet', project_id: 'p' });
    await client.until((c) => c.comments >= 3);
    client.close();
  });

  it('never lets a slow client hold up others: it is cut and resumes by its last id', async () => {
    const tenant = { org_id: 'slow', project_id: 'p' };
    const socket = connect(Number(new URL(nexus.url).port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      `GET /agent/reports/stream HTTP/1.1\r\nhost: x\r\nx-api-key: ${API_KEY}\r\nx-org-id: slow\r\nx-project-id: p\r\n\r\n`,
    );
    socket.pause();
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const fast = await nexus.stream(tenant);
    const sseClients = async () =>
      (
        (await (await fetch(`${nexus.url}/health`, { headers: { 'x-api-key': ADMIN_KEY } })).json()) as {
          sse: { clients: number };
        }
      ).sse.clients;
    await waitUntil(async () => (await sseClients()) === 2, { what: 'both clients to be connected' });

    // Enough to fill the kernel's socket buffers (several MB on loopback) many times over.
    const blob = 'x'.repeat(60_000);
    const commandIds: string[] = [];
    for (let i = 0; i < 150; i++) {
      const response = await nexus.command(tenant, { command_type: 'echo.test', params: { i, blob } });
      commandIds.push(((await response.json()) as { command_id: string }).command_id);
    }
    await fast.until(completed(fast, commandIds));
    // The server cuts the stalled client; once it reads again it finds the stream ended.
    await waitUntil(async () => (await sseClients()) === 1, { what: 'the slow client to be cut' });
    socket.resume();
    await closed;

    const resumed = await nexus.stream(tenant, { lastEventId: 0 });
    const all = await history(tenant);
    await resumed.until((c) => ids(c).length >= all.length);
    expect(ids(resumed)).toEqual(all);
    fast.close();
    resumed.close();
  });
});

describe('with a small hot buffer (STREAM_EVENT_KEEP=10)', () => {
  it('serves live, recent and old positions alike, crossing from the store to memory without gap or duplicate', async () => {
    const small = await startTestNexus({ STREAM_EVENT_KEEP: '10' });
    try {
      const tenant = { org_id: 'small', project_id: 'p' };
      const live = await small.stream(tenant);
      const commandIds: string[] = [];
      for (let i = 0; i < 30; i++) {
        const response = await small.command(tenant, { command_type: 'echo.test', params: { i } });
        commandIds.push(((await response.json()) as { command_id: string }).command_id);
      }
      await live.until(completed(live, commandIds));
      const all = ids(live);
      expect(all).toHaveLength(120);
      for (const from of [0, all[3]!, all[100]!, all[115]!]) {
        const client = await small.stream(tenant, { lastEventId: from });
        await client.until((c) => ids(c).length >= all.filter((p) => p > from).length);
        expect(ids(client)).toEqual(all.filter((p) => p > from));
        client.close();
      }
      live.close();
    } finally {
      await small.stop();
    }
  });
});

describe('shutdown', () => {
  it('ends open streams so clients reconnect elsewhere', async () => {
    const own = await startTestNexus();
    const client = await own.stream(acme);
    await client.until((c) => c.events.length >= 1);
    await own.stop();
    await client.until((c) => c.ended);
    const health = await fetch(`${own.url}/health`).catch((error: unknown) => error);
    expect(health).toBeInstanceOf(Error);
  });
});

describe('limits', () => {
  it('429 with Retry-After past SSE_MAX_CONNECTIONS_PER_KEY; a closed stream makes room', async () => {
    const own = await startTestNexus({ SSE_MAX_CONNECTIONS_PER_KEY: '2' });
    try {
      const [a, b] = [await own.stream(acme), await own.stream({ org_id: 'other', project_id: 'p' })];
      await a.until((c) => c.events.length >= 1);
      const refused = await fetch(`${own.url}/agent/reports/stream`, { headers: own.headers(acme) });
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(await refused.json()).toMatchObject({ error: { code: 'too_many_streams' } });
      a.close();
      b.close();
      await waitUntil(async () => {
        const again = await own.stream(acme);
        again.close();
        return again.status === 200;
      });
    } finally {
      await own.stop();
    }
  });

  it('a snapshot over SNAPSHOT_MAX_BYTES gets 503 snapshot_too_large, on the stream and from GET /agent/snapshot', async () => {
    const own = await startTestNexus({ SNAPSHOT_MAX_BYTES: '4096' });
    try {
      const tenant = { org_id: 'big', project_id: 'p' };
      const watcher = await own.stream(tenant);
      const { command_id } = (await (
        await own.command(tenant, { command_type: 'memory.set', params: { key: 'big', value: 'x'.repeat(5000) } })
      ).json()) as { command_id: string };
      await watcher.until((c) =>
        c.reports.some((r) => r.command_id === command_id && r.report_type === 'task_completed'),
      );
      watcher.close();
      const snapshot = await own.get('/agent/snapshot', tenant);
      expect(snapshot.status).toBe(503);
      expect(await snapshot.json()).toMatchObject({ error: { code: 'snapshot_too_large' } });
      expect((await fetch(`${own.url}/agent/reports/stream`, { headers: own.headers(tenant) })).status).toBe(503);
    } finally {
      await own.stop();
    }
  });
});

describe('HEAD', () => {
  it('answers the headers a stream would get, and ends', async () => {
    const response = await fetch(`${nexus.url}/agent/reports/stream`, { method: 'HEAD', headers: nexus.headers(acme) });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(await response.text()).toBe('');
  });
});
