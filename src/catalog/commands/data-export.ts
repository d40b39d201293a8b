import { createHash } from 'node:crypto';
import { mkdir, open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { RecordedEvent } from '../../events/envelope.js';
import type { EventStore } from '../../store/event-store.js';
import { toReport } from '../../projections/report-feed.js';
import { defineCommand } from '../define-command.js';

type Source = 'events' | 'reports';
type Row = Record<string, unknown>;

const columns: Record<Source, string[]> = {
  events: ['position', 'type', 'version', 'stream', 'revision', 'correlation_id', 'occurred_at', 'data'],
  reports: ['position', 'report_type', 'correlation_id', 'command_id', 'task_id', 'timestamp', 'payload'],
};

function toRow(source: Source, event: RecordedEvent): Row {
  if (source === 'reports') return { ...toReport(event) };
  const { position, type, version, stream, revision, data, metadata } = event;
  return { position, type, version, stream, revision, correlation_id: metadata.correlation_id, occurred_at: metadata.occurred_at, data };
}

function csvField(value: unknown): string {
  const text = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** YELLOW: writes the tenant's events or reports as NDJSON or CSV into the outbox. */
export function dataExport(deps: { store: EventStore; outboxDir: string }) {
  return defineCommand({
    type: 'data.export',
    risk: 'YELLOW',
    description: "Export the tenant's events or reports as NDJSON or CSV into the outbox",
    params: z.object({
      source: z.enum(['events', 'reports']).default('reports'),
      format: z.enum(['ndjson', 'csv']).default('ndjson'),
      after: z.number().int().nonnegative().default(0),
      up_to: z.number().int().positive().optional(),
    }),
    handler: async ({ source, format, after, up_to }, { tenant, task_id, signal }) => {
      const upTo = up_to ?? (await deps.store.headPosition());
      const folder = join(deps.outboxDir, tenant.org_id, tenant.project_id);
      await mkdir(folder, { recursive: true });
      const name = `export-${task_id}.${format}`;
      const partial = join(folder, `.${name}.partial`);
      const file = await open(partial, 'w');
      const hash = createHash('sha256');
      let rows = 0;
      let bytes = 0;
      const write = async (text: string) => {
        hash.update(text);
        bytes += Buffer.byteLength(text);
        await file.write(text);
      };
      try {
        if (format === 'csv') await write(`${columns[source].join(',')}\n`);
        for (let cursor = after; ; ) {
          signal.throwIfAborted();
          const page = await deps.store.readFeed({ tenant, after: cursor, upTo, limit: 1000 });
          if (page.length === 0) break;
          const lines = page.map((event) => {
            const row = toRow(source, event);
            return format === 'ndjson' ? JSON.stringify(row) : columns[source].map((c) => csvField(row[c])).join(',');
          });
          await write(`${lines.join('\n')}\n`);
          rows += page.length;
          cursor = page[page.length - 1]!.position;
        }
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(partial, join(folder, name));
      return { file: `${tenant.org_id}/${tenant.project_id}/${name}`, source, format, rows, bytes, sha256: hash.digest('hex'), after, up_to: upTo };
    },
  });
}
