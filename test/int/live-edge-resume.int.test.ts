import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/events/tenant.js';
import { distributedEnv, freshDatabase, freshQueues } from '../support/distributed.js';
import { spawnNexus, spawnWorker, type NexusProcess } from '../support/nexus-process.js';
import { API_KEY, startTestNexus } from '../support/nexus.js';
import { ResumingReader, reportHistory } from '../support/resuming-reader.js';
import { waitUntil } from '../support/wait.js';

// Contract 1 at the live edge: a client cut while caught up, resuming at once with its last id
// while commands keep arriving, gets the snapshot as of that id and then exactly the reports
// after it — on the replica it was on or on another one.

const tenants: Tenant[] = Array.from({ length: 6 }, (_, i) => ({ org_id: 'edge', project_id: `t${i}` }));

/** Commands for every tenant, two in flight per tenant, until `stop` resolves. */
function load(urls: readonly string[], stop: Promise<void>): Promise<number> {
  let stopped = false;
  void stop.then(() => (stopped = true));
  let sent = 0;
  const loop = async (tenant: Tenant, lane: number) => {
    for (let i = 0; !stopped; i++) {
      const response = await fetch(`${urls[(i + lane) % urls.length]}/sidecar/command`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-api-key': API_KEY,
          'x-org-id': tenant.org_id,
          'x-project-id': tenant.project_id,
        },
        body: JSON.stringify({ command_type: 'echo.test', params: { lane, i } }),
      });
      expect(response.status).toBe(202);
      await response.arrayBuffer();
      sent++;
    }
  };
  return Promise.all(tenants.flatMap((tenant) => [loop(tenant, 0), loop(tenant, 1)])).then(() => sent);
}

async function resumeAtTheEdge(urls: readonly string[], readersPerTenant: number, cuts: number): Promise<void> {
  const readers = tenants.flatMap((tenant) =>
    Array.from({ length: readersPerTenant }, () => new ResumingReader(tenant, urls)),
  );
  await Promise.all(readers.map((reader) => reader.open()));
  let stopLoad!: () => void;
  const loading = load(urls, new Promise<void>((resolve) => (stopLoad = resolve)));
  try {
    await Promise.all(
      readers.map(async (reader, i) => {
        for (let cut = 1; cut <= cuts; cut++) {
          await reader.live();
          await reader.cutAndResume(i + cut);
        }
      }),
    );
  } finally {
    stopLoad();
  }
  expect(await loading).toBeGreaterThan(0);
  for (const tenant of tenants) {
    // Once every accepted command has completed, the tenant's history is final.
    let history: number[] = [];
    await waitUntil(
      async () => {
        const reports = await reportHistory(urls[0]!, tenant);
        history = reports.map((r) => r.position);
        const count = (type: string) => reports.filter((r) => r.report_type === type).length;
        return count('command_accepted') === count('task_completed');
      },
      { timeoutMs: 60_000, what: 'every command to complete' },
    );
    const mine = readers.filter((reader) => reader.tenant === tenant);
    await Promise.all(mine.map((reader) => reader.reach(history.at(-1)!)));
    for (const reader of mine) {
      for (const { sent, snapshot } of reader.resumes)
        expect(snapshot, 'the snapshot of a resume is as of the id sent').toBe(sent);
      // Exactly the history after the first snapshot: no gap, no duplicate, in order.
      expect(reader.ids).toEqual(history.filter((position) => position > reader.start));
    }
  }
  for (const reader of readers) reader.close();
}

describe('resuming at the live edge under load', () => {
  it('embedded: 24 readers each cut 4 times at the edge lose and repeat nothing', async () => {
    const nexus = await startTestNexus();
    try {
      await resumeAtTheEdge([nexus.url], 4, 4);
    } finally {
      await nexus.stop();
    }
  });

  describe('distributed', () => {
    const processes: NexusProcess[] = [];
    const cleanups: Array<() => Promise<void>> = [];
    afterAll(async () => {
      await Promise.allSettled(processes.map((p) => p.kill('SIGKILL')));
      for (const cleanup of cleanups) await cleanup().catch(() => undefined);
    });

    it('two supervisor replicas and a worker on PostgreSQL, RabbitMQ and Redis: readers cut at the edge resume on either replica without a gap or a duplicate', async () => {
      const database = await freshDatabase();
      const queues = freshQueues();
      cleanups.push(queues.drop, database.drop);
      const env = distributedEnv(database.url, queues);
      const supervisor = () =>
        spawnNexus({ ...env, LOG_LEVEL: 'warn', NEXUS_DATA_DIR: mkdtempSync(join(tmpdir(), 'nexus-edge-')) });
      const a = await supervisor();
      processes.push(a);
      const b = await supervisor();
      processes.push(b);
      processes.push(await spawnWorker(env));
      await resumeAtTheEdge([a.url, b.url], 4, 8);
    });
  });
});
