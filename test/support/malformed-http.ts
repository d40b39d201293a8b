import fc from 'fast-check';
import type { Text } from './hostile-requests.js';
import { materialize, type Arena, type WireRequest } from './hostile-wire.js';

// HTTP/1.1 that is not: a well-formed request to NEXUS (a command, a read, the stream) broken at
// the wire — its request line, header syntax, line ends, framing — then split into pieces and
// followed by the end of the client's side. A 4xx, or closing the connection, is a fair answer.

export const MALFORMED_TENANT = { org_id: 'fuzz', project_id: 'raw' } as const;

type Base = 'command' | 'reports' | 'stream' | 'health' | 'decide';

type Framing =
  | { readonly kind: 'length' }
  | { readonly kind: 'chunks'; readonly wire: Text }
  | { readonly kind: 'both' }
  | { readonly kind: 'declared'; readonly length: string };

type Mutation =
  | { readonly kind: 'request-line'; readonly line: Text }
  | { readonly kind: 'line-end'; readonly end: '\n' | '\r' | '\n\r' }
  | { readonly kind: 'header'; readonly at: number; readonly line: Text }
  | { readonly kind: 'framing'; readonly framing: Framing }
  | { readonly kind: 'trailing'; readonly bytes: Text };

export interface Malformed {
  readonly base: Base;
  /** One or two ways the request is broken. */
  readonly mutations: readonly Mutation[];
  /** Where the bytes are cut into separate writes (fractions of the length). */
  readonly cuts: readonly number[];
  /** Instead of a request: bytes. */
  readonly noise?: readonly number[];
}

const BASES: Record<Base, { line: string; body?: string }> = {
  command: { line: 'POST /sidecar/command HTTP/1.1', body: '{"command_type":"echo.test","params":{"raw":true}}' },
  reports: { line: 'GET /agent/reports?after=0&limit=5 HTTP/1.1' },
  stream: { line: 'GET /agent/reports/stream HTTP/1.1' },
  health: { line: 'GET /health HTTP/1.1' },
  decide: { line: 'POST /approvals/ask-none/decide HTTP/1.1', body: '{"decision":"approve"}' },
};

const REQUEST_LINES = [
  '',
  ' ',
  'GET /',
  'GET / HTTP/1.1 extra',
  'GET  /health  HTTP/1.1',
  'GET /health HTTP/9.9',
  'GET /health HTTP/1.0',
  'GET /health HTTP/2.0',
  'PRI * HTTP/2.0',
  'get /health HTTP/1.1',
  'GET\t/health\tHTTP/1.1',
  'GET /he\u0000alth HTTP/1.1',
  'GET http://x/health HTTP/1.1',
  'GET health HTTP/1.1',
  ' GET /health HTTP/1.1',
  'GET /health HTTP/1.1 ',
  'OPTIONS * HTTP/1.1',
  'CONNECT 127.0.0.1:1 HTTP/1.1',
  'GET /health?\u00ff HTTP/1.1',
  'GET /\u00e9\u0301 HTTP/1.1',
  'POST /sidecar/command HTTP/1.1\u0000',
  'GET /%00 HTTP/1.1',
  'GET /%zz HTTP/1.1',
  'GET /?%zz=%zz HTTP/1.1',
  'GET /agent/reports?after=%ff HTTP/1.1',
  'DELETE /session HTTP/1.1',
  'HTTP/1.1 200 OK',
] as const;

const HEADER_LINES = [
  'x-org-id : fuzz',
  'no-colon-line',
  ' folded continuation',
  '\tfolded',
  'x-api-key: a\rb',
  'bad\u0001name: v',
  ': empty-name',
  'x-org-id: \u0000',
  'x-org-id: a\u007fb',
  'content-length: -1',
  'content-length: 1e3',
  'content-length: 99999999999999999999',
  'content-length: 5',
  'content-length: 5, 6',
  'content-length: +5',
  'transfer-encoding: gzip, chunked',
  'transfer-encoding: chunked',
  'transfer-encoding: identity',
  'transfer-encoding: chunked, gzip',
  'upgrade: websocket',
  'connection: upgrade',
  'connection: keep-alive',
  'expect: 100-continue',
  'host: other.example',
  'host:',
  'x-org-id: fu\u00e9zz',
  'x-\u00f8rg: 1',
  'x-project-id: raw, raw',
  'cookie: nexus_session=\u00ff\u00fe',
  'last-event-id: \u00ff',
  'x-correlation-id: \u00e9',
  'content-type: application/json; charset=utf-16',
  'content-encoding: gzip',
] as const;

const text = (max: number): fc.Arbitrary<Text> =>
  fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.record({ repeat: fc.constantFrom('a', '/', 'x-a: 1\r\n', '\u00e9'), times: fc.integer({ min: 100, max }) }),
  );

const CHUNKED_BODIES = [
  'zz\r\nhello\r\n0\r\n\r\n',
  'fffffffffffffffffff\r\nhello\r\n0\r\n\r\n',
  `5;${'a'.repeat(10_000)}\r\nhello\r\n0\r\n\r\n`,
  '5\r\nhello\r\n',
  '2\r\nhello\r\n0\r\n\r\n',
  '5\r\nhello0\r\n\r\n',
  '-5\r\nhello\r\n0\r\n\r\n',
  '5\nhello\n0\n\n',
  '0\r\nx-trailer: \u0000\r\n\r\n',
  '0\r\n\r\n',
  ' 5\r\nhello\r\n0\r\n\r\n',
] as const;

const framing: fc.Arbitrary<Framing> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'length' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('chunks' as const),
      wire: fc.oneof(fc.constantFrom(...CHUNKED_BODIES), text(3000)),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'both' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('declared' as const),
      length: fc.constantFrom('0', '1', '3', '-1', 'abc', '1e2', '18446744073709551616', ''),
    }),
  },
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('request-line' as const),
      line: fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...REQUEST_LINES) },
        { weight: 1, arbitrary: text(20_000) },
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('line-end' as const),
      end: fc.constantFrom('\n' as const, '\r' as const, '\n\r' as const),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('header' as const),
      at: fc.nat(8),
      line: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...HEADER_LINES) }, { weight: 1, arbitrary: text(3000) }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('framing' as const), framing }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('trailing' as const),
      bytes: fc.oneof(fc.constant('GET /health HTTP/1.1\r\nhost: x\r\n\r\n'), text(500)),
    }),
  },
);

export const malformedMessage: fc.Arbitrary<Malformed> = fc.oneof(
  {
    weight: 9,
    arbitrary: fc.record({
      base: fc.constantFrom<Base>('command', 'reports', 'stream', 'health', 'decide'),
      mutations: fc.array(mutation, { minLength: 1, maxLength: 2 }),
      cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      base: fc.constant<Base>('health'),
      mutations: fc.constant([]),
      cuts: fc.constant([]),
      noise: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 400 }),
    }),
  },
);

/** The message as bytes: always half-closed once written, so NEXUS sees the end and is never waited on. */
export function malformedToWire(message: Malformed, arena: Arena): WireRequest {
  const base = BASES[message.base];
  const headers = [
    `host: 127.0.0.1:${arena.port}`,
    `x-api-key: ${arena.secrets['admin-key']}`,
    `x-org-id: ${MALFORMED_TENANT.org_id}`,
    `x-project-id: ${MALFORMED_TENANT.project_id}`,
    'connection: close',
  ];
  const body = base.body ?? '';
  if (base.body !== undefined) headers.push('content-type: application/json');
  const framing = message.mutations.findLast((m) => m.kind === 'framing')?.framing ?? { kind: 'length' };
  let payload = body;
  if (framing.kind === 'length' && base.body !== undefined) headers.push(`content-length: ${Buffer.byteLength(body)}`);
  if (framing.kind === 'chunks') {
    headers.push('transfer-encoding: chunked');
    payload = materialize(framing.wire);
  }
  if (framing.kind === 'both') {
    headers.push(`content-length: ${Buffer.byteLength(body)}`, 'transfer-encoding: chunked');
    payload = `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`;
  }
  if (framing.kind === 'declared') headers.push(`content-length: ${framing.length}`);
  let requestLine = base.line;
  let lineEnd = '\r\n';
  let trailing = '';
  for (const change of message.mutations) {
    if (change.kind === 'request-line') requestLine = materialize(change.line);
    if (change.kind === 'line-end') lineEnd = change.end;
    if (change.kind === 'header') headers.splice(Math.min(change.at, headers.length), 0, materialize(change.line));
    if (change.kind === 'trailing') trailing += materialize(change.bytes);
  }
  const head = [requestLine, ...headers].join(lineEnd) + lineEnd + lineEnd;
  const bytes = message.noise ? Buffer.from(message.noise) : Buffer.from(head + payload + trailing, 'utf8');
  const offsets = [...new Set(message.cuts.map((cut) => Math.floor(cut * bytes.length)))]
    .filter((at) => at > 0 && at < bytes.length)
    .sort((a, b) => a - b);
  const chunks = [0, ...offsets].map((start, i) => bytes.subarray(start, [...offsets, bytes.length][i]));
  const shown = JSON.stringify(bytes.subarray(0, 1200).toString('utf8'));
  return {
    chunks,
    halfClose: true,
    head: false,
    untilClose: true,
    tenant: MALFORMED_TENANT,
    mayDrop: 'malformed HTTP',
    text: `${shown.length > 900 ? `${shown.slice(0, 900)}…` : shown} (${bytes.length} bytes in ${chunks.length} writes, then half-closed)`,
  };
}
