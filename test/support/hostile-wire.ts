import type { Tenant } from '../../src/events/tenant.js';
import type { Body } from './hostile-bodies.js';
import type { HeaderValue, HostileRequest, KnownKind, PathParam, Secret, Text } from './hostile-requests.js';

/** What a hostile request is made of once NEXUS runs: its port, keys and session, and ids it answered. */
export interface Arena {
  readonly port: number;
  readonly secrets: Readonly<Record<Secret, string>>;
  /** The tenant every dashboard session of the run was opened for. */
  readonly sessionTenant: Tenant;
  /** Asks and commands NEXUS accepted so far, for path parameters that name real ones. */
  readonly known: Readonly<Record<KnownKind, Array<{ id: string; tenant: Tenant }>>>;
}

/** A hostile request as bytes, with what a failure message shows of it. */
export interface WireRequest {
  readonly chunks: readonly Buffer[];
  readonly halfClose: boolean;
  readonly head: boolean;
  /** Read until NEXUS closes (every answer to pipelined requests), not just the first answer. */
  readonly untilClose?: boolean;
  /** The tenant a 202 for this request was recorded in: its tenant headers as NEXUS reads them, or the session's. */
  readonly tenant: Tenant;
  /** The `command_type` its body names, if it is a JSON object naming one. */
  readonly commandType?: string;
  /** Why ending the connection without an answer is a fair reply to it, if it is. */
  readonly mayDrop?: string;
  /** The request line, the headers (long values cut) and the start of the body. */
  readonly text: string;
}

export const materialize = (text: Text): string => (typeof text === 'string' ? text : text.repeat.repeat(text.times));

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Every byte of the UTF-8 (lone surrogates become U+FFFD) that is not unreserved, as %XX. */
function percentEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += byte < 0x80 && UNRESERVED.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const isControl = (code: number) => code < 0x20 || code === 0x7f;

/** As it is, but for what would end the request line (controls, spaces): those as %XX. */
const rawEncode = (text: string): string =>
  [...text]
    .map((char) =>
      isControl(char.charCodeAt(0)) || char === ' '
        ? `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`
        : char,
    )
    .join('');

function pathParam(param: PathParam, arena: Arena): { text: string; tenant?: Tenant } {
  if ('known' in param) {
    const pool = arena.known[param.known];
    const entry = pool[param.index % Math.max(1, pool.length)];
    return entry ? { text: encodeURIComponent(entry.id), tenant: entry.tenant } : { text: `${param.known}-none` };
  }
  const text = materialize(param.text);
  return { text: param.encoding === 'percent' ? percentEncode(text) : rawEncode(text) };
}

function target(request: HostileRequest, arena: Arena): { path: string; knownTenant?: Tenant } {
  let knownTenant: Tenant | undefined;
  let path: string;
  if ('route' in request.target) {
    const params = [...request.target.params];
    path = request.target.route.replace(/\{\w+\}/g, () => {
      const rendered = pathParam(params.shift()!, arena);
      knownTenant ??= rendered.tenant;
      return rendered.text;
    });
  } else {
    path = rawEncode(materialize(request.target.path));
  }
  const encode = request.query.encoding === 'percent' ? percentEncode : rawEncode;
  const query = request.query.pairs
    .map(([key, value]) => `${encode(materialize(key))}=${encode(materialize(value))}`)
    .join('&');
  return { path: query === '' ? path : `${path}?${query}`, ...(knownTenant ? { knownTenant } : {}) };
}

function headerValue(value: HeaderValue, arena: Arena, knownTenant: Tenant): string {
  if ('secret' in value) return arena.secrets[value.secret];
  if ('known' in value) return value.known === 'org' ? knownTenant.org_id : knownTenant.project_id;
  // CR and LF would start another header: the malformed-syntax property sends those.
  return materialize(value.text).replace(/[\r\n]/g, ' ');
}

function jsonText(body: Extract<Body, { kind: 'json' }>): Buffer {
  const text = Buffer.from(JSON.stringify(body.value) ?? 'null', 'utf8');
  const { mutation } = body;
  if (mutation.kind === 'truncate') return text.subarray(0, Math.min(mutation.keep, Math.max(0, text.length - 1)));
  if (mutation.kind === 'prefix') return Buffer.concat([Buffer.from(mutation.bytes), text]);
  if (mutation.kind === 'suffix') return Buffer.concat([text, Buffer.from(mutation.bytes)]);
  return text;
}

function nested(depth: number, shape: 'array' | 'object' | 'mixed'): string {
  if (shape === 'array') return '['.repeat(depth) + ']'.repeat(depth);
  if (shape === 'object') return '{"a":'.repeat(depth) + '0' + '}'.repeat(depth);
  const levels = Array.from({ length: depth }, (_, i) => i % 2 === 0);
  return (
    levels.map((array) => (array ? '[' : '{"a":')).join('') +
    '0' +
    levels
      .reverse()
      .map((array) => (array ? ']' : '}'))
      .join('')
  );
}

const inParams = (json: string) => `{"command_type":"echo.test","params":{"x":${json}}}`;

function bodyBytes(body: Body): Buffer | undefined {
  switch (body.kind) {
    case 'none':
      return undefined;
    case 'json':
      return jsonText(body);
    case 'text':
      return Buffer.from(materialize(body.text), 'utf8');
    case 'bytes':
      return Buffer.from(body.bytes);
    case 'deep': {
      const json = nested(body.depth, body.shape);
      return Buffer.from(body.inside === 'bare' ? json : inParams(json), 'utf8');
    }
    case 'huge': {
      const json = `"${'a'.repeat(body.bytes)}"`;
      return Buffer.from(body.inside === 'bare' ? json : inParams(json), 'utf8');
    }
  }
}

const cut = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max)}…(${text.length} chars)`);

/** Bytes of the body as a JSON string literal, cut: readable whatever they hold. */
const bodyPreview = (bytes: Buffer) =>
  cut(JSON.stringify(bytes.subarray(0, 600).toString('utf8')), 400) +
  (bytes.length > 600 ? `…(${bytes.length} bytes)` : '');

function pieces(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

/** Methods Node's parser knows (llhttp); it refuses the others before NEXUS sees the request. */
const KNOWN_METHODS = new Set([
  'GET',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'HEAD',
  'OPTIONS',
  'TRACE',
  'M-SEARCH',
  'PROPFIND',
]);
/** Node's default --max-http-header-size. */
const MAX_HEAD_BYTES = 16 * 1024;

/** What of the request Node's HTTP parser refuses, if anything: NEXUS never sees such a request. */
function nodeRefuses(
  method: string,
  path: string,
  headers: ReadonlyArray<readonly [string, string]>,
  headBytes: number,
): string | undefined {
  if (method === 'CONNECT') return 'CONNECT';
  if (!KNOWN_METHODS.has(method)) return `the method ${method}`;
  if (headBytes > MAX_HEAD_BYTES - 64) return `a head of ${headBytes} bytes`;
  if (/[^\x21-\x7e]/.test(path) || !/^(\/|\*$|https?:\/\/)/.test(path))
    return `the target ${JSON.stringify(path.slice(0, 40))}`;
  if (headers.some(([, value]) => [...value].some((char) => char !== '\t' && isControl(char.charCodeAt(0)))))
    return 'a control character in a header value';
  return undefined;
}

/** How the body travels: the headers that frame it and its pieces; `short` declares more than it sends. */
function frame(
  body: Buffer | undefined,
  request: HostileRequest,
): { lines: string[]; chunks: Buffer[]; shown: string; missing?: number } {
  if (body === undefined)
    return {
      lines: request.body.kind === 'none' && request.body.declareZero ? ['content-length: 0'] : [],
      chunks: [],
      shown: '(no body)',
    };
  const framing = request.body.kind === 'none' ? 'length' : request.body.framing;
  const preview = bodyPreview(body);
  if (framing === 'chunked') {
    const size = Math.max(1, Math.ceil(body.length / 3));
    const chunks = pieces(body, size).map((piece) =>
      Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]),
    );
    return {
      lines: ['transfer-encoding: chunked'],
      chunks: [...chunks, Buffer.from('0\r\n\r\n')],
      shown: `body (${request.body.kind}, ${body.length} bytes, chunked): ${preview}`,
    };
  }
  if (framing === 'short') {
    const missing = 1 + (body.length % 97);
    const shown = `body (${request.body.kind}, ${body.length} of the ${body.length + missing} bytes declared, then the client ends its side): ${preview}`;
    return { lines: [`content-length: ${body.length + missing}`], chunks: pieces(body, 64 * 1024), shown, missing };
  }
  return {
    lines: [`content-length: ${body.length}`],
    chunks: pieces(body, 64 * 1024),
    shown: `body (${request.body.kind}, ${body.length} bytes): ${preview}`,
  };
}

/**
 * The request as the bytes to send, with a Host unless it brings its own. The connection is kept
 * alive, as clients do: NEXUS then reads a body it did not need before the next request, where
 * closing at once would reset the connection over the bytes still unread.
 */
export function toWire(request: HostileRequest, arena: Arena): WireRequest {
  const { path, knownTenant } = target(request, arena);
  const headers = request.headers.map(
    ([name, value]) => [name, headerValue(value, arena, knownTenant ?? arena.sessionTenant)] as const,
  );
  // As NEXUS reads them: Node trims the value and joins repeated headers with ", ".
  const valuesOf = (wanted: string) =>
    headers.filter(([name]) => name.toLowerCase() === wanted).map(([, value]) => value.replace(/^[ \t]+|[ \t]+$/g, ''));
  const [org, project] = [valuesOf('x-org-id'), valuesOf('x-project-id')];
  const tenant = {
    org_id: org.length > 0 ? org.join(', ') : arena.sessionTenant.org_id,
    project_id: project.length > 0 ? project.join(', ') : arena.sessionTenant.project_id,
  };
  const framed = frame(bodyBytes(request.body), request);
  const lines = [`${request.method} ${path} HTTP/1.1`, ...headers.map(([name, value]) => `${name}: ${value}`)];
  if (valuesOf('host').length === 0) lines.push(`host: 127.0.0.1:${arena.port}`);
  lines.push(...framed.lines);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');
  const refusal = nodeRefuses(request.method, path, headers, head.length);
  const mayDrop =
    framed.missing !== undefined
      ? `its body is ${framed.missing} bytes short of its Content-Length`
      : refusal && `Node's HTTP parser refuses ${refusal} (400 or 431, then a close that may reset the answer away)`;
  const commandType =
    request.body.kind === 'json' ? (request.body.value as { command_type?: unknown } | null)?.command_type : undefined;
  return {
    chunks: [head, ...framed.chunks],
    halfClose: framed.missing !== undefined,
    head: request.method === 'HEAD',
    tenant,
    ...(typeof commandType === 'string' ? { commandType } : {}),
    ...(mayDrop ? { mayDrop } : {}),
    text: [
      `${request.method} ${cut(path, 300)} HTTP/1.1`,
      ...lines.slice(1).map((line) => cut(JSON.stringify(line).slice(1, -1), 200)),
      framed.shown,
    ].join('\n  '),
  };
}
