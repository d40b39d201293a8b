import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/events/envelope.js';
import type { Tenant } from '../../src/events/tenant.js';
import { snapshotProjection } from '../../src/projections/snapshot.js';
import { ADMIN_KEY, startTestNexus, type TestNexus } from '../support/nexus.js';
import { testCatalog } from '../support/test-commands.js';

const tenant: Tenant = { org_id: 'travel', project_id: 'p' };
const projection = snapshotProjection({ worklogKeep: 5 });
let nexus: TestNexus;
let events: RecordedEvent[] = [];

beforeAll(async () => {
  nexus = await startTestNexus(
    { SNAPSHOT_CHECKPOINT_EVERY: '4', STREAM_WORKLOG_KEEP: '5', ASK_TTL_SECONDS: '3600', MAX_RETRIES: '1' },
    { catalog: testCatalog },
  );
  const watcher = await nexus.stream(tenant);
  const ids: string[] = [];
  const send = async (body: unknown) => {
    const answer = (await (await nexus.command(tenant, body)).json()) as { command_id: string; ask_id?: string };
    ids.push(answer.command_id);
    return answer;
  };
  for (let i = 0; i < 6; i++) await send({ command_type: 'echo.test', params: { i } });
  await send({ command_type: 'test.poison', params: {} });
  const approved = await send({ command_type: 'test.red', params: { file: '/dev/null', note: 'a' } });
  const denied = await send({ command_type: 'test.red', params: { file: '/dev/null', note: 'd' } });
  await send({ command_type: 'test.red', params: { file: '/dev/null', note: 'pending' } });
  for (const [ask, decision] of [
    [approved.ask_id, 'approve'],
    [denied.ask_id, 'deny'],
  ] as const) {
    await fetch(`${nexus.url}/approvals/${ask}/decide`, {
      method: 'POST',
      // the admin key: the client key requested these, and may not decide them (four eyes)
      headers: { ...nexus.headers(tenant, { 'x-api-key': ADMIN_KEY }), 'content-type': 'application/json' },
      body: JSON.stringify({ decision }),
    });
  }
  await watcher.until(
    (c) =>
      [...ids.slice(0, 6), approved.command_id].every((id) =>
        c.reports.some((r) => r.command_id === id && r.report_type === 'task_completed'),
      ) && c.reports.some((r) => r.report_type === 'task_dead_lettered'),
  );
  watcher.close();
  // the log as it is, read back raw through the paged history
  const page = (await (await nexus.get('/agent/reports?limit=1000', tenant)).json()) as {
    reports: Array<{ position: number }>;
  };
  const { readFeed } = await import('../support/read-log.js');
  events = await readFeed(nexus.dataDir, tenant);
  expect(events.map((e) => e.position)).toEqual(page.reports.map((r) => r.position));
});
afterAll(() => nexus.stop());

describe('time travel', () => {
  it('GET /agent/snapshot?at=N is exactly the fold of the events up to N, at every position', async () => {
    const positions = [0, ...events.map((e) => e.position)];
    for (const at of positions) {
      const expected = events.filter((e) => e.position <= at).reduce(projection.evolve, projection.initialState());
      const view = projection.view(expected, { tenant, position: at, timestamp: 'x' });
      const served = (await (await nexus.get(`/agent/snapshot?at=${at}`, tenant)).json()) as Record<string, unknown>;
      expect({ ...served, timestamp: 'x' }, `at ${at}`).toEqual(JSON.parse(JSON.stringify(view)));
    }
  });

  it('GET /agent/reports?up_to=N is the feed as it stood at N', async () => {
    const middle = events[Math.floor(events.length / 2)]!.position;
    const page = (await (await nexus.get(`/agent/reports?limit=1000&up_to=${middle}`, tenant)).json()) as {
      reports: Array<{ position: number }>;
    };
    expect(page.reports.map((r) => r.position)).toEqual(
      events.filter((e) => e.position <= middle).map((e) => e.position),
    );
  });

  it('GET /agent/snapshot/diff tells what changed between two positions', async () => {
    const askCreated = events.filter((e) => e.type === 'AskCreated');
    const from = askCreated[0]!.position - 1;
    const diff = (await (await nexus.get(`/agent/snapshot/diff?from=${from}`, tenant)).json()) as {
      asks: { added: Array<{ ask_id: string }>; resolved: string[] };
      worklog: { added: unknown[] };
    };
    expect(diff.asks.added).toHaveLength(1);
    expect(diff.worklog.added.length).toBeGreaterThan(0);
    const bad = await nexus.get(`/agent/snapshot/diff?from=10&to=5`, tenant);
    expect(bad.status).toBe(400);
  });
});
