import type { ServerResponse } from 'node:http';
import type { Frame, Page, TenantFeed } from '../../fanout/tenant-feed.js';
import { HEARTBEAT } from './sse-frames.js';

export interface SseSessionOptions {
  readonly heartbeatMs: number;
  readonly stallTimeoutMs: number;
  /** Frames read at once. */
  readonly batchSize: number;
  readonly headers: Readonly<Record<string, string>>;
}

/** Most bytes written at once; a single larger frame goes alone. */
const MAX_CHUNK_BYTES = 1024 * 1024;

/** The frames of a page as chunks of at most MAX_CHUNK_BYTES (and at least one frame). */
function chunks(frames: readonly Frame[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let group: Uint8Array[] = [];
  let size = 0;
  for (const { bytes } of frames) {
    if (group.length > 0 && size + bytes.length > MAX_CHUNK_BYTES) {
      out.push(group.length === 1 ? group[0]! : Buffer.concat(group));
      group = [];
      size = 0;
    }
    group.push(bytes);
    size += bytes.length;
  }
  if (group.length > 0) out.push(group.length === 1 ? group[0]! : Buffer.concat(group));
  return out;
}

/**
 * One SSE client: the preamble (retry and snapshot), then every frame after `after`, live,
 * until `ended` aborts (the client left, or NEXUS shuts down). Event-driven rather than a loop
 * of promises, so one new event costs each of thousands of open streams a function call and a
 * write. A write waits for the socket to drain, so a slow client holds at most one chunk; one
 * that does not drain within the stall timeout is cut, and resumes by its last event id.
 */
export class SseSession<S> {
  private after: number;
  private pending: Uint8Array[] = [];
  private stopWaiting: (() => void) | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private readonly heartbeat: NodeJS.Timeout;
  private finished = false;
  private readonly pump = () => this.flow();

  constructor(
    private readonly res: ServerResponse,
    private readonly feed: TenantFeed<S>,
    start: { preamble: readonly Uint8Array[]; after: number },
    private readonly options: SseSessionOptions,
    private readonly ended: AbortSignal,
    private readonly onFinish: () => void,
  ) {
    this.after = start.after;
    ended.addEventListener('abort', () => this.finish(), { once: true });
    res.writeHead(200, { ...options.headers });
    res.write(Buffer.concat(start.preamble));
    this.heartbeat = setInterval(() => {
      if (!res.writableNeedDrain) res.write(HEARTBEAT);
    }, options.heartbeatMs);
    this.flow();
  }

  private flow(): void {
    this.stopWaiting = undefined;
    while (!this.finished) {
      if (this.pending.length > 0 && !this.writePending()) return;
      const page = this.feed.readRecent(this.after, this.options.batchSize);
      if (!page) {
        this.feed.readStored(this.after, this.options.batchSize).then(
          (stored) => this.accept(stored) && this.flow(),
          () => this.res.destroy(),
        );
        return;
      }
      if (!this.accept(page) || !this.writePending()) return;
      if (page.frames.length < this.options.batchSize && this.feed.lastPosition <= this.after) {
        this.stopWaiting = this.feed.onNextEvents(this.pump);
        return;
      }
    }
  }

  /** Takes a page in; false when the session ended meanwhile. */
  private accept(page: Page): boolean {
    if (this.finished) return false;
    this.pending = chunks(page.frames);
    this.after = page.through;
    return true;
  }

  /** Writes what is pending; false when the socket is full (flow resumes on drain). */
  private writePending(): boolean {
    while (this.pending.length > 0) {
      if (this.res.write(this.pending.shift()!)) continue;
      this.stallTimer = setTimeout(() => this.res.destroy(), this.options.stallTimeoutMs);
      this.res.once('drain', () => {
        clearTimeout(this.stallTimer);
        this.flow();
      });
      return false;
    }
    return true;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.stallTimer);
    this.stopWaiting?.();
    if (!this.res.destroyed) this.res.end();
    this.onFinish();
  }
}
