import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { openSqliteEventStore } from '../src/store/sqlite-event-store.js';
import { rawSubscriber } from './support.js';

const tenant = { org_id: 'replay', project_id: 'bench' };

/** Writes `commands` finished echo.test lives (4 events each) straight into a data folder. */
export async function seedLog(dataDir: string, commands: number): Promise<number> {
  const store = await openSqliteEventStore({ path: join(dataDir, 'nexus.db') });
  const metadata = { correlation_id: 'seed', occurred_at: new Date().toISOString(), actor: 'bench' };
  for (let batch = 0; batch < commands; batch += 2000) {
    await Promise.all(
      Array.from({ length: Math.min(2000, commands - batch) }, (_, i) => {
        const ids = { command_id: `cmd-${batch + i}`, task_id: `task-${batch + i}`, command_type: 'echo.test' };
        const events = [
          { type: 'CommandAccepted', data: { ...ids, params: { n: batch + i }, risk_level: 'GREEN', description: 'Answer the params unchanged', requested_by: 'bench', request_hash: 'h' } },
          { type: 'TaskQueued', data: { ...ids, attempt: 1 } },
          { type: 'TaskStarted', data: { ...ids, attempt: 1, executor_id: 'bench' } },
          { type: 'TaskSucceeded', data: { ...ids, attempt: 1, result: { echo: { n: batch + i } }, duration_ms: 0.1 } },
        ].map((event) => ({ ...event, event_id: randomUUID(), version: 1, metadata }));
        return store.append(tenant, `command-${ids.command_id}`, events, 'no_stream');
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
    void rawSubscriber(url, tenant.org_id, '/agent/reports/stream?last_event_id=0', (text) => {
      bytes += text.length;
      if (text.includes(`id: ${lastPosition}\n`)) resolve(performance.now());
    }).then((socket) => finished.then(() => socket.destroy()));
  });
  const ended = await finished;
  const seconds = (ended - started) / 1000;
  return { events, seconds, perSecond: events / seconds, megabytes: bytes / 1e6 };
}
