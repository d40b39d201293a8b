import { headers, NexusError, type Connection } from './http-client.js';

export interface TailOptions {
  /** Resume after this event id (the SSE `Last-Event-ID`); from the start when 0, live only when absent. */
  readonly after?: number;
  /** Stop once a report of this type arrived. */
  readonly until?: string;
  /** Stop after this many reports. */
  readonly count?: number;
  readonly signal?: AbortSignal;
  readonly onReport: (report: Record<string, unknown>, id: number) => void;
  /** Told when the stream dropped and is resumed. */
  readonly onResume?: (after: number, error: unknown) => void;
}

// Not NEXUS's sleep(): this timer must keep the CLI alive while it waits to resume.
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/**
 * Follows the tenant's report stream, printing nothing itself: every `report` event goes to
 * `onReport`. A dropped connection is resumed from the last id seen (`Last-Event-ID`), with
 * backoff, so no report is missed or repeated. Resolves when `until`/`count` is met or the
 * signal aborts.
 */
export async function tailReports(connection: Connection, options: TailOptions): Promise<void> {
  let after = options.after;
  let seen = 0;
  let backoff = 250;
  while (!options.signal?.aborted) {
    try {
      const response = await fetch(new URL('/agent/reports/stream', connection.url), {
        headers: headers(connection, {
          accept: 'text/event-stream',
          ...(after === undefined ? {} : { 'last-event-id': String(after) }),
        }),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (!response.ok || !response.body) {
        const body = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
        throw new NexusError(response.status, body.error?.code ?? 'http_error', body.error?.message ?? 'no stream');
      }
      backoff = 250;
      let buffer = '';
      let event: { id?: string; type?: string; data: string[] } = { data: [] };
      const decoder = new TextDecoder();
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        const lines = buffer.split(/\r\n|\r|\n/);
        buffer = lines.pop()!;
        for (const line of lines) {
          if (line !== '') {
            const colon = line.indexOf(':');
            if (colon === 0) continue;
            const name = colon === -1 ? line : line.slice(0, colon);
            const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (name === 'data') event.data.push(value);
            else if (name === 'id') event.id = value;
            else if (name === 'event') event.type = value;
            continue;
          }
          if (event.id !== undefined) after = Number(event.id);
          if (event.type === 'report' && event.data.length > 0) {
            const report = JSON.parse(event.data.join('\n')) as Record<string, unknown>;
            options.onReport(report, after ?? 0);
            seen++;
            if (
              (options.count !== undefined && seen >= options.count) ||
              (options.until !== undefined && report.report_type === options.until)
            )
              return;
          }
          event = { data: [] };
        }
      }
    } catch (error) {
      if (options.signal?.aborted) return;
      // A limit (429) passes: resume later. Other refusals will not.
      if (error instanceof NexusError && error.status < 500 && error.status !== 429) throw error;
      options.onResume?.(after ?? 0, error);
    }
    await sleep(backoff, options.signal);
    backoff = Math.min(backoff * 2, 5000);
  }
}
