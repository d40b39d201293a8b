import type { ServerResponse } from 'node:http';
import type { Frame } from '../fanout/tenant-feed.js';
import { HEARTBEAT } from './sse-frames.js';

/** Where a session reads its frames: a tenant's feed. */
export interface FrameSource {
  read(after: number, limit: number): Promise<{ frames: Frame[]; through: number }>;
  waitAfter(after: number, signal: AbortSignal): Promise<void>;
}

export interface SseSessionOptions {
  readonly heartbeatMs: number;
  readonly stallTimeoutMs: number;
  /** Frames written at once: the most a session buffers beyond the socket's own buffer. */
  readonly batchSize: number;
  readonly headers: Readonly<Record<string, string>>;
}

type Drained = 'drained' | 'closed' | 'stalled';

function drained(res: ServerResponse, timeoutMs: number, signal: AbortSignal): Promise<Drained> {
  return new Promise((resolve) => {
    const done = (outcome: Drained) => {
      clearTimeout(timer);
      res.off('drain', onDrain);
      signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const onDrain = () => done('drained');
    const onAbort = () => done('closed');
    const timer = setTimeout(() => done('stalled'), timeoutMs);
    res.on('drain', onDrain);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Streams one SSE client: the preamble (retry and snapshot), then every frame after `after`,
 * live, until the client leaves or `shutdown` aborts. Writes wait for the socket to drain, so
 * a slow client holds at most one batch; one that does not drain within the stall timeout is
 * cut, and resumes by its last event id.
 */
export async function runSseSession(
  res: ServerResponse,
  source: FrameSource,
  start: { preamble: readonly Uint8Array[]; after: number },
  options: SseSessionOptions,
  shutdown: AbortSignal,
): Promise<void> {
  const ended = new AbortController();
  const end = () => ended.abort();
  res.on('close', end);
  shutdown.addEventListener('abort', end, { once: true });
  res.writeHead(200, { ...options.headers });
  res.write(Buffer.concat(start.preamble));
  const heartbeat = setInterval(() => {
    if (!res.writableNeedDrain) res.write(HEARTBEAT);
  }, options.heartbeatMs);
  let after = start.after;
  try {
    while (!ended.signal.aborted) {
      const { frames, through } = await source.read(after, options.batchSize);
      if (ended.signal.aborted) break;
      if (frames.length > 0) {
        const chunk = frames.length === 1 ? frames[0]!.bytes : Buffer.concat(frames.map((f) => f.bytes));
        if (!res.write(chunk)) {
          const outcome = await drained(res, options.stallTimeoutMs, ended.signal);
          if (outcome === 'stalled') {
            res.destroy();
            break;
          }
        }
      }
      after = through;
      if (frames.length < options.batchSize) await source.waitAfter(after, ended.signal);
    }
  } finally {
    clearInterval(heartbeat);
    res.off('close', end);
    shutdown.removeEventListener('abort', end);
    if (!res.destroyed) res.end();
  }
}
