import { join } from 'node:path';
import type { Tenant } from '../src/events/tenant.js';
import { newId } from '../src/shared/ids.js';
import { openSqliteEventStore } from '../src/store/sqlite/sqlite-event-store.js';
import { rawSubscriber } from './support.js';

export const replayTenant: Tenant = { org_id: 'replay', project_id: 'bench' };

/** The events of one finished command: mostly echo.test; every 50th a RED ask approved and run. */
function commandEvents(n: number, at: string) {
  const red = n % 50 === 49;
  const ids = {
    command_id: `cmd-${n}`,
    task_id: `task-${n}`,
    command_type: red ? 'external_share.prepare' : 'echo.test',
  };
  const params = red ? { recipient: `r${n}@example.com` } : { n };
  const run = [
    { type: 'TaskQueued', data: { ...ids, attempt: 1 } },
    { type: 'TaskStarted', data: { ...ids, attempt: 1, executor_id: 'bench' } },
    { type: 'TaskSucceeded', data: { ...ids, attempt: 1, result: { echo: params }, duration_ms: 0.1 } },
  ];
  const accepted = {
    type: 'CommandAccepted',
    data: { ...ids, params, risk_level: red ? 'RED' : 'GREEN', description: ids.command_type, requested_by: 'bench' },
  };
  if (!red) return [accepted, ...run];
  const ask = { ...ids, ask_id: `ask-${n}`, payload_hash: 'h'.repeat(64) };
  return [
    accepted,
    {
      type: 'AskCreated',
      data: {
        ...ask,
        risk_level: 'RED',
        description: 'share',
        params,
        requested_by: 'bench',
        expires_at: at,
        options: ['approve', 'deny'],
      },
    },
    { type: 'AskApproved', data: { ...ask, decided_by: 'reviewer' } },
    ...run,
  ];
}

/** Writes `commands` finished command lives (4 events each, 7 for RED ones) straight into a data folder. */
export async function seedLog(dataDir: string, commands: number, tenant: Tenant = replayTenant): Promise<number> {
  const store = await openSqliteEventStore({ path: join(dataDir, 'nexus.db') });
  const at = new Date().toISOString();
  const metadata = { correlation_id: 'seed', occurred_at: at, actor: 'bench' };
  for (let batch = 0; batch < commands; batch += 2000) {
    await Promise.all(
      Array.from({ length: Math.min(2000, commands - batch) }, (_, i) => {
        const events = commandEvents(batch + i, at).map((event) => ({
          ...event,
          event_id: newId(),
          version: 1,
          metadata,
        }));
        return store.append(tenant, `command-cmd-${batch + i}`, events, 'no_stream');
      }),
    );
  }
  const head = await store.headPosition();
  await store.close();
  return head;
}

/** Last-Event-ID: 0 on a long log: events per second delivered to one client. */
export async function benchReplay(url: string, lastPosition: number, events: number) {
  const started = performance.now();
  let bytes = 0;
  const finished = new Promise<number>((resolve) => {
    void rawSubscriber(url, replayTenant.org_id, '/agent/reports/stream?last_event_id=0', (text) => {
      bytes += text.length;
      if (text.includes(`id: ${lastPosition}\n`)) resolve(performance.now());
    }).then((socket) => finished.then(() => socket.destroy()));
  });
  const ended = await finished;
  const seconds = (ended - started) / 1000;
  return { events, seconds, perSecond: events / seconds, megabytes: bytes / 1e6 };
}
