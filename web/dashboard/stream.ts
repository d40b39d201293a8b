import type { Report } from '../../src/projections/report-feed.js';
import { api, sessionRefused } from './api.js';
import type { Snapshot } from '../../src/projections/snapshot.js';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting';

export interface StreamHandlers {
  readonly snapshot: (snapshot: Snapshot) => void;
  readonly report: (report: Report) => void;
  readonly state: (state: ConnectionState, detail: { retryInMs?: number; lastEventId?: number }) => void;
  /** The session is no longer valid. */
  readonly unauthorized: () => void;
}

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5_000;

/**
 * The page's one connection to NEXUS: `/agent/reports/stream` with the session cookie. It
 * remembers the last event id it received and, whenever the connection drops (the network, a
 * restart of NEXUS), opens a new EventSource resuming after it, so the page gets exactly the
 * reports it missed. The browser's own retry is not used: it gives up for good on a non-200
 * answer, such as the 503 of a server shutting down.
 */
export class ReportStream {
  private source: EventSource | undefined;
  private lastEventId: number | undefined;
  private retryMs = FIRST_RETRY_MS;
  private timer: number | undefined;
  private stopped = false;

  constructor(private readonly handlers: StreamHandlers) {}

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.timer);
    this.source?.close();
    this.source = undefined;
  }

  private open(): void {
    const resume = this.lastEventId === undefined ? '' : `?last_event_id=${this.lastEventId}`;
    const source = new EventSource(`/agent/reports/stream${resume}`);
    this.source = source;
    this.handlers.state(this.lastEventId === undefined ? 'connecting' : 'reconnecting', {
      lastEventId: this.lastEventId,
    });
    source.addEventListener('snapshot', (message) => {
      const snapshot = JSON.parse((message as MessageEvent<string>).data) as Snapshot;
      this.lastEventId = snapshot.position;
      this.retryMs = FIRST_RETRY_MS;
      this.handlers.snapshot(snapshot);
      this.handlers.state('live', { lastEventId: this.lastEventId });
    });
    source.addEventListener('report', (message) => {
      const report = JSON.parse((message as MessageEvent<string>).data) as Report;
      // Positions only grow on one stream; anything at or before the last one was already seen.
      if (this.lastEventId !== undefined && report.position <= this.lastEventId) return;
      this.lastEventId = report.position;
      this.handlers.report(report);
    });
    source.addEventListener('error', () => {
      if (this.source !== source) return;
      source.close();
      this.source = undefined;
      if (this.stopped) return;
      this.checkThenRetry();
    });
  }

  /** After a drop: a refused session means sign in again; anything else (a restart, a rate limit), try again with backoff. */
  private checkThenRetry(): void {
    const retryInMs = this.retryMs;
    this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
    this.handlers.state('reconnecting', { retryInMs, lastEventId: this.lastEventId });
    this.timer = window.setTimeout(() => {
      api('GET', '/session').then(
        () => !this.stopped && this.open(),
        (error: unknown) => {
          if (this.stopped) return;
          if (sessionRefused(error)) this.handlers.unauthorized();
          else this.checkThenRetry();
        },
      );
    }, retryInMs);
  }
}
