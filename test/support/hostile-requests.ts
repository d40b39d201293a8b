import fc from 'fast-check';
import { hostileBody, sometimes, type Body } from './hostile-bodies.js';

// Random, deep, huge and malformed HTTP requests for every route of NEXUS, as data: a request is
// generated small (long strings as `{ repeat, times }`, deep bodies as a depth) and made into
// bytes only when sent (hostile-wire.ts), so fast-check can print and shrink it. Most requests
// carry a key, a tenant and the body their route reads, so they get past the door; the rest of
// what they hold is hostile now and then, field by field.

/** A string, or a long one described by what it repeats. */
export type Text = string | { readonly repeat: string; readonly times: number };

/** Values only known once NEXUS runs: its keys, dashboard sessions. */
export type Secret =
  | 'api-key'
  | 'admin-key'
  | 'session-cookie'
  | 'admin-session-cookie'
  | 'tampered-session-cookie'
  | 'csrf'
  | 'admin-csrf';

export type HeaderValue =
  | { readonly text: Text }
  | { readonly secret: Secret }
  /** The org or project of the ask or command a path parameter names (else the session's). */
  | { readonly known: 'org' | 'project' };

/** Ids NEXUS answered: asks, commands, commands of the held type (HELD_TYPE), share tokens. */
export type KnownKind = 'ask' | 'command' | 'held' | 'token';

export type PathParam =
  { readonly known: KnownKind; readonly index: number } | { readonly text: Text; readonly encoding: 'percent' | 'raw' };

export type Target =
  /** A documented path: its `{…}` parameters replaced in order. */
  { readonly route: string; readonly params: readonly PathParam[] } | { readonly path: Text };

export interface HostileRequest {
  readonly method: string;
  readonly target: Target;
  readonly query: { readonly pairs: ReadonlyArray<readonly [Text, Text]>; readonly encoding: 'percent' | 'raw' };
  readonly headers: ReadonlyArray<readonly [string, HeaderValue]>;
  readonly body: Body;
}

/** A route of `/openapi.json`: method upper-case, path with `{…}` parameters. */
export interface DocumentedRoute {
  readonly method: string;
  readonly path: string;
}

export const TENANTS = [
  { org_id: 'fuzz', project_id: 'a' },
  { org_id: 'fuzz', project_id: 'b' },
  { org_id: 'other-org', project_id: 'p.1' },
] as const;

const QUERY_KEYS = [
  'after',
  'limit',
  'up_to',
  'at',
  'from',
  'to',
  'format',
  'since',
  'last_event_id',
  'command_type',
  'risk_level',
  'requested_by',
] as const;

const ODD_STRINGS = [
  '',
  ' ',
  '..',
  '../..',
  '..%2f..',
  '%00',
  '%2F',
  '%2e%2e',
  '%',
  '%zz',
  '%E0%A4%A',
  '\u0000',
  '\u0007',
  '\u007f',
  'é',
  '𝕏',
  '\ud800',
  '\udfff',
  '\ufeff',
  '<script>',
  "'; DROP TABLE events;--",
  '${x}',
  '__proto__',
  'constructor',
  'prototype',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '-1',
  '-0',
  '0',
  '1.5',
  '1e3',
  '1e400',
  '0x1F',
  ' 1',
  '1 ',
  '9007199254740992',
  '9007199254740993',
  '18446744073709551616',
  '-18446744073709551616',
  '\t',
  '\\',
  '//',
  '?',
  '#',
  '&',
  '=',
  ';',
  ',',
  '*',
  'ask-',
  'cmd-',
  '_nexus',
  '_llm',
  '_executors',
  'a/b',
  'GREEN',
  'RED',
  'red',
  'json',
  'ndjson',
  'xml',
  '2024-02-30',
  '0000-00-00',
] as const;

const longText = (max: number): fc.Arbitrary<Text> =>
  fc.record({
    repeat: fc.constantFrom('a', '9', 'é', '𝕏', '%', '/', '.', '\ud800', ' '),
    times: fc.integer({ min: 65, max }),
  });

/** Any string a client could put somewhere: odd ones, random ones (lone surrogates included), long ones. */
export const anyText = (longMax = 20_000): fc.Arbitrary<Text> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...ODD_STRINGS) },
    { weight: 3, arbitrary: fc.string({ maxLength: 30 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
    { weight: 1, arbitrary: longText(longMax) },
  );

const texts = (arbitrary: fc.Arbitrary<Text>): fc.Arbitrary<HeaderValue> => arbitrary.map((text) => ({ text }));
const validTenantId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);

/** Mostly `valid`; now and then a value that is not. */
const mostly = (valid: fc.Arbitrary<HeaderValue>, hostile: fc.Arbitrary<HeaderValue>): fc.Arbitrary<HeaderValue> =>
  fc.oneof({ weight: 9, arbitrary: valid }, { weight: 1, arbitrary: hostile });

const hostileTenantId = (part: 'org' | 'project'): fc.Arbitrary<HeaderValue> =>
  fc.oneof(
    fc.constantFrom<HeaderValue>(
      { text: '_nexus' },
      { text: part === 'org' ? '_nexus' : '_llm' },
      { text: '_executors' },
      { text: ' fuzz' },
      { text: 'a'.repeat(65) },
      { text: 'ørg' },
    ),
    texts(anyText(12_000)),
  );

/** Who the request says it is: a key, a session cookie (with its CSRF token, mostly), or anything else. */
const credentials = fc.oneof(
  {
    weight: 7,
    arbitrary: fc
      .constantFrom<HeaderValue>({ secret: 'api-key' }, { secret: 'admin-key' })
      .map((key) => [['x-api-key', key]] as const),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({
        admin: fc.boolean(),
        csrf: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
        tampered: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      })
      .map(({ admin, csrf, tampered }) => [
        [
          'cookie',
          { secret: tampered ? 'tampered-session-cookie' : admin ? 'admin-session-cookie' : 'session-cookie' },
        ] as const,
        ...(csrf ? [['x-csrf-token', { secret: admin ? 'admin-csrf' : 'csrf' }] as const] : []),
      ]),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.constant([]),
      texts(anyText(12_000)).map((key) => [['x-api-key', key]] as const),
    ),
  },
);

/** Which tenant: the one of the ids in the path (or the session's), a fixed one, or any valid one. */
const tenant = fc.oneof(
  { weight: 5, arbitrary: fc.constant<[HeaderValue, HeaderValue]>([{ known: 'org' }, { known: 'project' }]) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      ...TENANTS.map((t): [HeaderValue, HeaderValue] => [{ text: t.org_id }, { text: t.project_id }]),
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(validTenantId, validTenantId)
      .map(([org, project]): [HeaderValue, HeaderValue] => [{ text: org }, { text: project }]),
  },
);

const contentType = mostly(
  fc.constantFrom<HeaderValue>(
    { text: 'application/json' },
    { text: 'application/json; charset=utf-8' },
    { text: 'application/problem+json' },
    { text: 'APPLICATION/JSON' },
  ),
  texts(
    fc.oneof(
      fc.constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/jsonx',
        'application/json, text/plain',
        '',
        ';',
        'application/json;;;',
      ),
      anyText(2000),
    ),
  ),
);

/** The headers of a request: credentials and a tenant mostly right, the others present now and then, valid or not; some repeated. */
export const hostileHeaders: fc.Arbitrary<ReadonlyArray<readonly [string, HeaderValue]>> = fc
  .record({
    credentials,
    tenant,
    org: sometimes(
      fc.oneof(
        { weight: 19, arbitrary: fc.constant('chosen' as const) },
        { weight: 1, arbitrary: hostileTenantId('org') },
      ),
      95,
    ),
    project: sometimes(
      fc.oneof(
        { weight: 19, arbitrary: fc.constant('chosen' as const) },
        { weight: 1, arbitrary: hostileTenantId('project') },
      ),
      95,
    ),
    others: fc.record({
      'content-type': sometimes(contentType, 85),
      'x-correlation-id': sometimes(mostly(texts(fc.stringMatching(/^[\x21-\x7E]{1,128}$/)), texts(anyText(300))), 20),
      'idempotency-key': sometimes(
        mostly(texts(fc.constantFrom('k1', 'k2', 'k3', 'x'.repeat(255))), texts(anyText(400))),
        15,
      ),
      'last-event-id': sometimes(
        texts(
          fc.oneof(
            fc.integer({ min: -5, max: 50 }).map(String),
            fc.constantFrom('-1', '18446744073709551616', '1e400', 'abc', '', '9007199254740992', '0x10', '1.5', ' 3'),
            anyText(1000),
          ),
        ),
        10,
      ),
      cookie: sometimes(
        fc.oneof(
          anyText(12_000).map((garbage): HeaderValue => ({
            text: typeof garbage === 'string' ? `nexus_session=${garbage}` : garbage,
          })),
          fc.constantFrom<HeaderValue>(
            { text: 'nexus_session=' },
            { text: 'nexus_session=%E0%A4%A' },
            { text: '__Host-nexus_session=x.y.z' },
            { text: 'a=1; nexus_session="q"; nexus_session=2' },
          ),
        ),
        6,
      ),
      'x-csrf-token': sometimes(texts(anyText(2000)), 5),
      'x-forwarded-proto': sometimes(texts(fc.constantFrom('https', 'http', 'gopher', '')), 3),
      expect: sometimes(texts(fc.constantFrom('100-continue', 'something-else')), 3),
      host: sometimes(
        texts(
          fc.constantFrom(
            '',
            'evil.example',
            'a b',
            '[::1',
            'localhost:99999',
            'ho\u00e9st',
            'x'.repeat(3000),
            '127.0.0.1:1, 127.0.0.2',
          ),
        ),
        3,
      ),
    }),
    upper: sometimes(fc.constant(true), 15),
  })
  .map(({ credentials: auth, tenant: [org, project], org: orgHeader, project: projectHeader, others, upper }) => {
    const headers: Array<readonly [string, HeaderValue]> = [...auth];
    if (orgHeader !== undefined) headers.push(['x-org-id', orgHeader === 'chosen' ? org : orgHeader]);
    if (projectHeader !== undefined)
      headers.push(['x-project-id', projectHeader === 'chosen' ? project : projectHeader]);
    for (const [name, value] of Object.entries(others)) if (value !== undefined) headers.push([name, value]);
    return upper ? headers.map(([name, value]) => [name.toUpperCase(), value] as const) : headers;
  })
  .chain((headers) =>
    fc
      .record({
        repeated:
          headers.length === 0
            ? fc.constant([])
            : sometimes(fc.subarray([...headers], { minLength: 1, maxLength: Math.min(2, headers.length) }), 5),
        extra: sometimes(
          fc.array(
            fc.tuple(
              fc.oneof(
                fc.constantFrom('x-org-id', 'x-api-key', 'accept', 'origin', 'x-requested-with'),
                fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
              ),
              texts(anyText(4000)),
            ),
            { minLength: 1, maxLength: 2 },
          ),
          8,
        ),
      })
      .map(({ repeated = [], extra = [] }) => [...headers, ...repeated, ...extra]),
  );

const knownKindOf = (route: string, param: string): KnownKind =>
  param === 'ask_id' ? 'ask' : param === 'token' ? 'token' : route.startsWith('/admin/') ? 'held' : 'command';

/** Path parameters mostly name what NEXUS answered (requeue and discard: commands of the held type). */
const pathParam = (route: string, param: string): fc.Arbitrary<PathParam> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.record({ known: fc.constant(knownKindOf(route, param)), index: fc.nat(1000) }) },
    { weight: 1, arbitrary: fc.record({ known: fc.constantFrom<KnownKind>('ask', 'command'), index: fc.nat(1000) }) },
    {
      weight: 3,
      arbitrary: fc.record({ text: anyText(20_000), encoding: fc.constantFrom('percent' as const, 'raw' as const) }),
    },
  );

const UNDOCUMENTED = [
  '/',
  '/sidecar',
  '/sidecar/',
  '/sidecar/command/',
  '/sidecar//command',
  '//sidecar/command',
  '/SIDECAR/COMMAND',
  '/sidecar/command/../command',
  '/sidecar/%63ommand',
  '/agent',
  '/agent/reports/',
  '/agent/reports/stream/',
  '/approvals/',
  '/approvals//decide',
  '/approvals/x/decide/more',
  '/admin',
  '/admin/tasks',
  '/admin/tasks/x',
  '/shares',
  '/shares/',
  '/dashboard/',
  '/dashboard/app.js',
  '/dashboard/app.css',
  '/dashboard/../../package.json',
  '/.env',
  '/..%2f..%2fetc%2fpasswd',
  '/%00',
  '/health/',
  '/health?',
  '/openapi.json/',
  '/metrics',
  '*',
  'http://evil.example/sidecar/command',
  'http://127.0.0.1/health',
  '/sidecar\\command',
  '/é',
  '/%',
  '/?%',
] as const;

/** The writes come up more often: they are where a 202 can be. */
const routeWeight = (path: string) =>
  path === '/sidecar/command'
    ? 6
    : path === '/approvals/{ask_id}/decide'
      ? 4
      : path.startsWith('/admin/tasks/{')
        ? 2
        : 1;

/** A documented route, or an undocumented path. */
export const hostileTarget = (routes: readonly DocumentedRoute[]): fc.Arbitrary<Target> => {
  const paths = [...new Set(routes.map((route) => route.path))];
  return fc.oneof(
    {
      weight: 9,
      arbitrary: fc.oneof(
        ...paths.map((route) => {
          const params = [...route.matchAll(/\{(\w+)\}/g)].map((match) => pathParam(route, match[1]!));
          return {
            weight: routeWeight(route),
            arbitrary: fc.tuple(...params).map((values): Target => ({ route, params: values })),
          };
        }),
      ),
    },
    {
      weight: 1,
      arbitrary: fc
        .oneof(
          fc.constantFrom(...UNDOCUMENTED),
          fc.webPath(),
          longText(20_000).map((text) =>
            typeof text === 'string' ? text : { repeat: `/${text.repeat}`, times: text.times },
          ),
        )
        .map((path): Target => ({ path })),
    },
  );
};

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE'] as const;

/** Mostly a documented method of the path, else a wrong one, else one HTTP does not know. */
const methodFor = (routes: readonly DocumentedRoute[], target: Target): fc.Arbitrary<string> => {
  const documented = 'route' in target ? routes.filter((r) => r.path === target.route).map((r) => r.method) : [];
  return fc.oneof(
    {
      weight: documented.length > 0 ? 12 : 0,
      arbitrary: documented.length > 0 ? fc.constantFrom(...documented) : fc.constant('GET'),
    },
    { weight: 2, arbitrary: fc.constantFrom(...METHODS) },
    { weight: 1, arbitrary: fc.constantFrom('post', 'FOO', 'GETT', 'M-SEARCH', 'PROPFIND', 'CONNECT') },
  );
};

const query = fc.record({
  pairs: fc.oneof(
    { weight: 1, arbitrary: fc.constant([]) },
    {
      weight: 1,
      arbitrary: fc.array(
        fc.tuple(
          fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...QUERY_KEYS) }, { weight: 1, arbitrary: anyText(300) }),
          fc.oneof(
            fc.integer({ min: -10, max: 200 }).map(String),
            fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
            fc.date({ noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
            anyText(20_000),
          ),
        ),
        { minLength: 1, maxLength: 5 },
      ),
    },
  ),
  encoding: fc.oneof(
    { weight: 4, arbitrary: fc.constant('percent' as const) },
    { weight: 1, arbitrary: fc.constant('raw' as const) },
  ),
});

/** One hostile request for the documented `routes` (or off them). */
export const hostileRequest = (routes: readonly DocumentedRoute[]): fc.Arbitrary<HostileRequest> =>
  hostileTarget(routes).chain((target) =>
    fc.record({
      method: methodFor(routes, target),
      target: fc.constant(target),
      query,
      headers: hostileHeaders,
      body: hostileBody('route' in target ? target.route : undefined),
    }),
  );
