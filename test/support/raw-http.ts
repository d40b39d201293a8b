import { connect } from 'node:net';

/** One HTTP response read off the wire (1xx interim responses are skipped). */
export interface RawResponse {
  readonly status: number;
  /** Lower-case names; a repeated header keeps every value. */
  readonly headers: Readonly<Record<string, readonly string[]>>;
  readonly body: Buffer;
}

export type RawOutcome =
  /** Every complete response the connection carried (more than one only when requests were pipelined). */
  | { readonly kind: 'responses'; readonly responses: readonly RawResponse[] }
  /** A `text/event-stream` answer: its status and headers were read, then the connection was closed. */
  | { readonly kind: 'stream'; readonly response: RawResponse }
  /** The connection ended (closed or reset) before a whole response arrived. */
  | { readonly kind: 'closed'; readonly error?: string; readonly received: string }
  /** Neither an answer nor an end within the time allowed. */
  | { readonly kind: 'timeout'; readonly received: string };

export interface RawExchange {
  readonly port: number;
  /** Written one after the other, as separate writes (so a body can arrive in pieces). */
  readonly chunks: readonly Buffer[];
  /** End our side once written (the server then sees EOF): for requests that lie about their length. */
  readonly halfClose?: boolean;
  /** The request was a HEAD: its answer has no body whatever its Content-Length says. */
  readonly head?: boolean;
  /** Read every response until the server closes (pipelined requests); else the first whole response ends the exchange. */
  readonly untilClose?: boolean;
  readonly timeoutMs: number;
}

export const headerOf = (response: RawResponse, name: string): string | undefined => response.headers[name]?.join(', ');

const CRLF2 = Buffer.from('\r\n\r\n');

type Parsed = { response: RawResponse; next: number; interim: boolean } | 'incomplete' | 'invalid';

function decodeChunked(buffer: Buffer, from: number): { body: Buffer; next: number } | 'incomplete' | 'invalid' {
  const parts: Buffer[] = [];
  let at = from;
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', at);
    if (lineEnd === -1) return 'incomplete';
    const size = Number.parseInt(buffer.subarray(at, lineEnd).toString('latin1').split(';')[0]!.trim(), 16);
    if (!Number.isFinite(size) || size < 0) return 'invalid';
    at = lineEnd + 2;
    if (size === 0) {
      // Trailers, then an empty line.
      const end = buffer.indexOf('\r\n', at);
      if (end === -1) return 'incomplete';
      if (end === at) return { body: Buffer.concat(parts), next: end + 2 };
      const trailersEnd = buffer.indexOf(CRLF2, at);
      if (trailersEnd === -1) return 'incomplete';
      return { body: Buffer.concat(parts), next: trailersEnd + 4 };
    }
    if (buffer.length < at + size + 2) return 'incomplete';
    parts.push(buffer.subarray(at, at + size));
    at += size + 2;
  }
}

/** The response starting at `from`; a body without a length runs to the end of a closed connection. */
function parseResponse(buffer: Buffer, from: number, closed: boolean, head: boolean): Parsed {
  const headerEnd = buffer.indexOf(CRLF2, from);
  if (headerEnd === -1) return 'incomplete';
  const lines = buffer.subarray(from, headerEnd).toString('latin1').split('\r\n');
  const statusLine = /^HTTP\/\d\.\d (\d{3})(?: |$)/.exec(lines[0]!);
  if (!statusLine) return 'invalid';
  const status = Number(statusLine[1]);
  const headers: Record<string, string[]> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return 'invalid';
    (headers[line.slice(0, colon).trim().toLowerCase()] ??= []).push(line.slice(colon + 1).trim());
  }
  const bodyStart = headerEnd + 4;
  const done = (body: Buffer, next: number): Parsed => ({
    response: { status, headers, body },
    next,
    interim: status >= 100 && status < 200,
  });
  if ((status >= 100 && status < 200) || status === 204 || status === 304 || head)
    return done(Buffer.alloc(0), bodyStart);
  if (headers['transfer-encoding']?.join(',').toLowerCase().includes('chunked')) {
    const chunked = decodeChunked(buffer, bodyStart);
    if (chunked === 'incomplete' && closed) return 'invalid';
    return typeof chunked === 'string' ? chunked : done(chunked.body, chunked.next);
  }
  const length = headers['content-length'];
  if (length !== undefined) {
    const size = Number(length[0]);
    if (!Number.isSafeInteger(size) || size < 0) return 'invalid';
    if (buffer.length < bodyStart + size) return closed ? 'invalid' : 'incomplete';
    return done(buffer.subarray(bodyStart, bodyStart + size), bodyStart + size);
  }
  if (!closed) return 'incomplete';
  return done(buffer.subarray(bodyStart), buffer.length);
}

/** The complete responses in `buffer`, in order, skipping interim (1xx) ones. */
function parseAll(
  buffer: Buffer,
  closed: boolean,
  head: boolean,
): { responses: RawResponse[]; streaming?: RawResponse } {
  const responses: RawResponse[] = [];
  let at = 0;
  while (at < buffer.length) {
    const parsed = parseResponse(buffer, at, closed, head);
    if (typeof parsed === 'string') {
      // An event stream never completes: its head is all there is to read.
      if (parsed === 'incomplete') {
        const headEnd = buffer.indexOf(CRLF2, at);
        if (headEnd !== -1) {
          const partial = parseResponse(buffer.subarray(0, headEnd + 4), at, true, true);
          if (
            typeof partial !== 'string' &&
            (headerOf(partial.response, 'content-type') ?? '').startsWith('text/event-stream')
          ) {
            return { responses, streaming: partial.response };
          }
        }
      }
      break;
    }
    if (!parsed.interim) responses.push(parsed.response);
    at = parsed.next;
  }
  return { responses };
}

const preview = (buffer: Buffer) => buffer.subarray(0, 400).toString('latin1');

/**
 * Sends bytes as they are over a new TCP connection and reads what comes back, so a test can send
 * what no HTTP client would (header values outside Latin-1, CR/LF, lies about the body's length,
 * invalid syntax). The first whole response ends the exchange, or with `untilClose` the server's
 * close (send `Connection: close`, or half-close).
 *
 * @example
 *   await rawExchange({ port, chunks: [Buffer.from('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')], timeoutMs: 5000 });
 */
export function rawExchange(exchange: RawExchange): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const received: Buffer[] = [];
    let settled = false;
    let error: string | undefined;
    const socket = connect({ port: exchange.port, host: '127.0.0.1' });
    const finish = (outcome: RawOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(
      () => finish({ kind: 'timeout', received: preview(Buffer.concat(received)) }),
      exchange.timeoutMs,
    );
    socket.on('connect', async () => {
      for (const chunk of exchange.chunks) {
        if (settled || socket.destroyed) return;
        // Wait for each write to leave, so the pieces arrive as separate reads.
        await new Promise<void>((written) => socket.write(chunk, () => written()));
      }
      if (exchange.halfClose && !socket.destroyed) socket.end();
    });
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      const { responses, streaming } = parseAll(Buffer.concat(received), false, exchange.head === true);
      if (streaming) finish({ kind: 'stream', response: streaming });
      else if (responses.length > 0 && !exchange.untilClose) finish({ kind: 'responses', responses });
    });
    socket.on('error', (cause: NodeJS.ErrnoException) => (error = cause.code ?? cause.message));
    socket.on('close', () => {
      const all = Buffer.concat(received);
      const { responses, streaming } = parseAll(all, true, exchange.head === true);
      if (streaming) return finish({ kind: 'stream', response: streaming });
      if (responses.length > 0) return finish({ kind: 'responses', responses });
      finish({ kind: 'closed', received: preview(all), ...(error === undefined ? {} : { error }) });
    });
  });
}
