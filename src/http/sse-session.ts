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

/** Most bytes written at once; a single larger frame goes alone. */
const MAX_CHUNK_BYTES = 1024 * 1024;

/** The frames of a batch as chunks of at most MAX_CHUNK_BYTES (and at least one frame). */
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
 * Streams one SSE client: the preamble (retry and snapshot), then every frame after `after`,
 * live, until `ended` aborts (the client left, or NEXUS shuts down). Writes wait for the socket
 * to drain, so a slow client holds at most one chunk; one that does not drain within the stall
 * timeout is cut, and resumes by its last event id.
 */
export async function runSseSession(
  res: ServerResponse,
  source: FrameSource,
  start: { preamble: readonly Uint8Array[]; after: number },
  options: SseSessionOptions,
  ended: AbortSignal,
): Promise<void> {
  res.writeHead(200, { ...options.headers });
  res.write(Buffer.concat(start.preamble));
  const heartbeat = setInterval(() => {
    if (!res.writableNeedDrain) res.write(HEARTBEAT);
  }, options.heartbeatMs);
  let after = start.after;
  try {
    while (!ended.aborted) {
      const { frames, through } = await source.read(after, options.batchSize);
      for (const chunk of chunks(frames)) {
        if (ended.aborted || res.write(chunk)) continue;
        if ((await drained(res, options.stallTimeoutMs, ended)) === 'stalled') {
          res.destroy();
          return;
        }
      }
      after = through;
      if (frames.length < options.batchSize) await source.waitAfter(after, ended);
    }
  } finally {
    clearInterval(heartbeat);
    if (!res.destroyed) res.end();
  }
}
