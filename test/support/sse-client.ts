import { request, type IncomingHttpHeaders } from 'node:http';
import type { Report } from '../../src/projections/report-feed.js';

export interface SseEvent {
  readonly id?: string;
  readonly event: string;
  readonly data: string;
}

/**
 * A minimal EventSource over node:http: parses the stream as the SSE spec does, keeps every
 * event, and lets a test wait for a condition instead of sleeping.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  retry: number | undefined;
  comments = 0;
  ended = false;
  private readonly waiters = new Set<() => void>();
  private destroy: () => void = () => {};

  private constructor(
    readonly status: number,
    readonly headers: IncomingHttpHeaders,
  ) {}

  static connect(url: string, headers: Record<string, string>): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
        const client = new SseClient(res.statusCode ?? 0, res.headers);
        client.destroy = () => req.destroy();
        res.setEncoding('utf8');
        let buffer = '';
        let fields: { id?: string; event?: string; data: string[] } = { data: [] };
        res.on('data', (chunk: string) => {
          buffer += chunk;
          const lines = buffer.split(/\r\n|\r|\n/);
          buffer = lines.pop()!;
          for (const line of lines) {
            if (line === '') {
              if (fields.data.length > 0)
                client.push({ id: fields.id, event: fields.event ?? 'message', data: fields.data.join('\n') });
              fields = { data: [] };
            } else if (line.startsWith(':')) client.comments++;
            else {
              const colon = line.indexOf(':');
              const name = colon === -1 ? line : line.slice(0, colon);
              const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
              if (name === 'data') fields.data.push(value);
              else if (name === 'id') fields.id = value;
              else if (name === 'event') fields.event = value;
              else if (name === 'retry') client.retry = Number(value);
            }
          }
          client.wake();
        });
        const end = () => {
          client.ended = true;
          client.wake();
        };
        res.on('end', end);
        res.on('close', end);
        res.on('error', end);
        resolve(client);
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** The `report` events, parsed. */
  readonly reports: Report[] = [];

  get snapshot(): Record<string, unknown> | undefined {
    const first = this.events.find((e) => e.event === 'snapshot');
    return first && (JSON.parse(first.data) as Record<string, unknown>);
  }

  get lastEventId(): string | undefined {
    return this.events.filter((e) => e.id !== undefined).at(-1)?.id;
  }

  /** Resolves once `condition` holds; rejects if the stream ends or `timeoutMs` passes first. */
  until(condition: (client: SseClient) => boolean, timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (condition(this)) return (done(), resolve());
        if (this.ended) return (done(), reject(new Error(`stream ended first (${this.events.length} events)`)));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`condition not met within ${timeoutMs} ms (${this.events.length} events)`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  close(): void {
    this.destroy();
  }

  private push(event: SseEvent): void {
    this.events.push(event);
    if (event.event === 'report') this.reports.push(JSON.parse(event.data) as Report);
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
