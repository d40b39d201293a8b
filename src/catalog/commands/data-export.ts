import { createHash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { RecordedEvent } from '../../events/envelope.js';
import type { Tenant } from '../../events/tenant.js';
import type { EventStore } from '../../store/event-store.js';
import { feedPages } from '../../store/feed-pages.js';
import { toReport } from '../../projections/report-feed.js';
import { Outbox, OutboxFullError, type OutboxLimits } from '../../shares/outbox.js';
import { defineCommand, TaskFailure } from '../define-command.js';

type Source = 'events' | 'reports';
type Row = Record<string, unknown>;

const columns: Record<Source, string[]> = {
  events: ['position', 'type', 'version', 'stream', 'revision', 'correlation_id', 'occurred_at', 'data'],
  reports: ['position', 'report_type', 'correlation_id', 'command_id', 'task_id', 'timestamp', 'payload'],
};

function toRow(source: Source, event: RecordedEvent): Row {
  if (source === 'reports') return { ...toReport(event) };
  const { position, type, version, stream, revision, data, metadata } = event;
  return {
    position,
    type,
    version,
    stream,
    revision,
    correlation_id: metadata.correlation_id,
    occurred_at: metadata.occurred_at,
    data,
  };
}

function csvField(value: unknown): string {
  const text =
    value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

interface ExportRange {
  readonly tenant: Tenant;
  readonly source: Source;
  readonly format: 'ndjson' | 'csv';
  readonly after: number;
  readonly upTo: number;
  readonly signal: AbortSignal;
}

/** The export's text, a page of the feed at a time. */
async function* exportChunks(
  store: EventStore,
  { tenant, source, format, after, upTo, signal }: ExportRange,
): AsyncGenerator<{ text: string; rows: number }> {
  if (format === 'csv') yield { text: `${columns[source].join(',')}\n`, rows: 0 };
  for await (const page of feedPages(store, { tenant, after, upTo }, 1000)) {
    signal.throwIfAborted();
    const lines = page.map((event) => {
      const row = toRow(source, event);
      return format === 'ndjson' ? JSON.stringify(row) : columns[source].map((c) => csvField(row[c])).join(',');
    });
    yield { text: `${lines.join('\n')}\n`, rows: page.length };
  }
}

/** Writes the chunks to `path`, calling `check` after each one (it throws to stop). */
async function writeChunks(
  path: string,
  chunks: AsyncIterable<{ text: string; rows: number }>,
  check: () => Promise<void>,
) {
  const file = await open(path, 'w');
  const hash = createHash('sha256');
  let rows = 0;
  let bytes = 0;
  try {
    for await (const chunk of chunks) {
      hash.update(chunk.text);
      bytes += Buffer.byteLength(chunk.text);
      rows += chunk.rows;
      await file.write(chunk.text);
      await check();
    }
    await file.sync();
  } finally {
    await file.close();
  }
  return { rows, bytes, sha256: hash.digest('hex') };
}

/**
 * YELLOW: writes the tenant's events or reports (those after `after`, up to `up_to`) as NDJSON
 * or CSV into its outbox folder, first sweeping it of exports older than the retention.
 * `OUTBOX_FULL` (not retried) when the tenant's outbox is full, or fills while writing: the
 * partial file is then deleted.
 */
export function dataExport(deps: { store: EventStore; outboxDir: string; outbox: OutboxLimits; now: () => Date }) {
  const outbox = new Outbox(deps.outboxDir, deps.outbox);
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
      const name = `export-${task_id}.${format}`;
      let partial: string | undefined;
      try {
        const folder = await outbox.makeRoom(tenant, deps.now(), 0);
        partial = join(folder, `.${name}.partial`);
        const chunks = exportChunks(deps.store, { tenant, source, format, after, upTo, signal });
        const written = await writeChunks(partial, chunks, () => outbox.assertFits(tenant));
        await rename(partial, join(folder, name));
        return {
          file: `${tenant.org_id}/${tenant.project_id}/${name}`,
          source,
          format,
          ...written,
          after,
          up_to: upTo,
        };
      } catch (error) {
        if (partial !== undefined) await rm(partial, { force: true });
        throw error instanceof OutboxFullError ? new TaskFailure('OUTBOX_FULL', error.message) : error;
      }
    },
  });
}
