import fc from 'fast-check';

// Request bodies for hostile-requests.ts: the body a route expects, with random and odd values in
// it, or random JSON, deep nesting, a body over MAX_BODY_BYTES, bytes that are not UTF-8, truncated
// or prefixed JSON, and bodies whose framing lies.

/** How the body is framed on the wire: `short` declares more bytes than it sends, then ends the connection. */
export type Framing = 'length' | 'chunked' | 'short';

export type JsonMutation =
  | { readonly kind: 'none' }
  | { readonly kind: 'truncate'; readonly keep: number }
  | { readonly kind: 'prefix' | 'suffix'; readonly bytes: readonly number[] };

export type Body =
  | { readonly kind: 'none'; readonly declareZero: boolean }
  | { readonly kind: 'json'; readonly value: unknown; readonly mutation: JsonMutation; readonly framing: Framing }
  | {
      readonly kind: 'text';
      readonly text: string | { readonly repeat: string; readonly times: number };
      readonly framing: Framing;
    }
  | { readonly kind: 'bytes'; readonly bytes: readonly number[]; readonly framing: Framing }
  | {
      readonly kind: 'deep';
      readonly depth: number;
      readonly shape: 'array' | 'object' | 'mixed';
      readonly inside: 'bare' | 'params';
      readonly framing: Framing;
    }
  | { readonly kind: 'huge'; readonly bytes: number; readonly inside: 'bare' | 'params'; readonly framing: Framing };

/** The catalog's types and the test ones whose handlers touch nothing outside NEXUS's folders. */
export const COMMAND_TYPES = [
  'echo.test',
  'file.delete',
  'data.export',
  'memory.set',
  'memory.delete',
  'external_share.prepare',
  'email.send',
  'payment.execute',
  'llm.complete',
  'llm.extract',
  'youtube.search',
  'rag.ingest',
  'rag.query',
  'test.fatal',
  'test.flaky',
  'test.poison',
] as const;

/** Fails for good with BAD_INPUT at once: held when BAD_INPUT is in AUTO_HOLD_FAILURE_CODES, so an admin may requeue or discard it. */
export const HELD_TYPE = 'test.fatal';

const jsonValue = fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' });
const correlationId = fc.stringMatching(/^[\x21-\x7E]{1,128}$/);

/** `arbitrary` in about `percent` % of the cases, else absent (what shrinking tries first). */
export const sometimes = <T>(arbitrary: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: 100 - percent, arbitrary: fc.constant(undefined) }, { weight: percent, arbitrary });

const paramsOf: Record<(typeof COMMAND_TYPES)[number], fc.Arbitrary<unknown>> = {
  'echo.test': fc.dictionary(fc.string({ unit: 'binary', maxLength: 10 }), jsonValue, { maxKeys: 5 }),
  'file.delete': fc.record(
    {
      path: fc.oneof(fc.constantFrom('a.txt', 'dir', '../x', '/etc/passwd', '.', ''), fc.string()),
      recursive: fc.boolean(),
    },
    { requiredKeys: ['path'] },
  ),
  'data.export': fc.record(
    { source: fc.constantFrom('events', 'reports'), format: fc.constantFrom('ndjson', 'csv'), after: fc.nat(100) },
    { requiredKeys: [] },
  ),
  'memory.set': fc.record({
    key: fc.oneof(fc.constantFrom('k', 'plan'), fc.stringMatching(/^[\x21-\x7E]{1,20}$/)),
    value: jsonValue,
  }),
  'memory.delete': fc.record({ key: fc.constantFrom('k', 'plan', 'missing') }),
  'external_share.prepare': fc.record(
    {
      recipient: fc.constantFrom('test@example.com', 'not-an-email'),
      message: fc.string(),
      expires_in_hours: fc.integer({ min: 1, max: 720 }),
    },
    { requiredKeys: ['recipient'] },
  ),
  'email.send': fc.record({
    to: fc.constantFrom('a@example.com', ['a@example.com', 'b@example.com']),
    subject: fc.string({ minLength: 1 }),
    text: fc.string(),
  }),
  'payment.execute': fc.record({
    amount: fc.double({ min: 0.01, max: 1e6, noNaN: true }),
    currency: fc.constantFrom('EUR', 'USD', 'eur'),
    payee: fc.string({ minLength: 1 }),
  }),
  'llm.complete': fc.record(
    { prompt: fc.string(), max_tokens: fc.integer({ min: 1, max: 100 }) },
    { requiredKeys: ['prompt'] },
  ),
  'llm.extract': fc.record({ prompt: fc.string(), schema: fc.constantFrom({ type: 'object' }, { type: 'nope' }, {}) }),
  'youtube.search': fc.record({ query: fc.string() }),
  'rag.ingest': fc.constant({}),
  'rag.query': fc.record({ query: fc.string(), limit: fc.integer({ min: -1, max: 100 }) }, { requiredKeys: ['query'] }),
  'test.fatal': fc.constant({}),
  'test.flaky': fc.record({ key: fc.string(), times: fc.integer({ min: 0, max: 2 }) }),
  'test.poison': fc.constant({}),
};

/** Echo, the RED types (asks to decide) and the held type come up more often. */
const typeWeight = (type: string) =>
  type === 'echo.test'
    ? 3
    : ['email.send', 'payment.execute', 'external_share.prepare', HELD_TYPE].includes(type)
      ? 3
      : 1;

/** `{"command_type","params",…}`: mostly a type of the catalog with fitting params, some not. */
const commandBody: fc.Arbitrary<unknown> = fc
  .record({
    command: fc.oneof(
      {
        weight: 9,
        arbitrary: fc.oneof(
          ...COMMAND_TYPES.map((type) => ({
            weight: typeWeight(type),
            arbitrary: paramsOf[type].map((params) => ({ command_type: type, params })),
          })),
        ),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          command_type: fc.oneof(fc.constantFrom(...COMMAND_TYPES), fc.string({ unit: 'binary' })),
          params: jsonValue,
        }),
      },
    ),
    correlation_id: sometimes(
      fc.oneof(
        { weight: 4, arbitrary: correlationId },
        { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 140 }) },
      ),
      30,
    ),
    description: sometimes(
      fc.oneof(
        { weight: 5, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
        { weight: 1, arbitrary: fc.string({ minLength: 495, maxLength: 505 }) },
      ),
      25,
    ),
    stray: sometimes(
      fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'extra', 'command_id'), jsonValue, {
        minKeys: 1,
        maxKeys: 1,
      }),
      8,
    ),
  })
  .map(({ command, stray, correlation_id, description }) => ({
    ...(command as object),
    ...(correlation_id === undefined ? {} : { correlation_id }),
    ...(description === undefined ? {} : { description }),
    ...(stray ?? {}),
  }));

const decisionBody = fc
  .record({
    decision: fc.oneof(
      { weight: 9, arbitrary: fc.constantFrom('approve', 'deny') },
      { weight: 1, arbitrary: fc.string() },
    ),
    reason: sometimes(
      fc.oneof(
        { weight: 5, arbitrary: fc.string({ unit: 'binary' }) },
        { weight: 1, arbitrary: fc.string({ minLength: 1995, maxLength: 2005 }) },
      ),
      40,
    ),
    payload_hash: sometimes(fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), fc.string()), 10),
  })
  .map(({ decision, reason, payload_hash }) => ({
    decision,
    ...(reason === undefined ? {} : { reason }),
    ...(payload_hash === undefined ? {} : { payload_hash }),
  }));

const reasonBody = fc.record(
  { reason: fc.oneof({ weight: 5, arbitrary: fc.string({ unit: 'binary' }) }, { weight: 1, arbitrary: fc.integer() }) },
  { requiredKeys: [] },
);

const autopilotBody = fc.record(
  {
    action: fc.oneof(
      { weight: 9, arbitrary: fc.constantFrom('pause', 'resume') },
      { weight: 1, arbitrary: fc.string() },
    ),
    reason: fc.string(),
  },
  { requiredKeys: ['action'] },
);

const framing: fc.Arbitrary<Framing> = fc.oneof(
  { weight: 8, arbitrary: fc.constant('length' as const) },
  { weight: 3, arbitrary: fc.constant('chunked' as const) },
  { weight: 1, arbitrary: fc.constant('short' as const) },
);

const someBytes = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 });

const jsonMutation: fc.Arbitrary<JsonMutation> = fc.oneof(
  { weight: 12, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.nat(200).map((keep) => ({ kind: 'truncate' as const, keep })) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('prefix' as const, 'suffix' as const),
      // Random bytes, a UTF-8 byte order mark, an invalid sequence, a byte that is never UTF-8.
      bytes: fc.oneof(someBytes, fc.constant([0xef, 0xbb, 0xbf]), fc.constant([0xc3, 0x28]), fc.constant([0xff])),
    }),
  },
);

const json = (value: fc.Arbitrary<unknown>): fc.Arbitrary<Body> =>
  fc.record({ kind: fc.constant('json' as const), value, mutation: jsonMutation, framing });

const ODD_BODIES = [
  '{"command_type":"echo.test","params":{"__proto__":{"polluted":true}}}',
  '{"command_type":"echo.test","params":{"a":1,"a":2}}',
  '{"command_type":"echo.test","params":{"s":"\\ud800"}}',
  '{"command_type":"echo.test","params":{"s":"\\u0000"}}',
  '{"command_type":"echo.test","params":{"n":1e400}}',
  '{"command_type":"memory.set","params":{"key":"k","value":null}}',
  '{"command_type":"echo.test","params":{"constructor":{"prototype":{"x":1}}}}',
  'command_type=echo.test',
  'null',
  '[]',
  '"x"',
  '{}',
  '{"decision":"approve"}',
  '{"action":"pause"}',
  ' ',
  '\ufeff{}',
] as const;

const depth = fc.oneof(
  fc.integer({ min: 1, max: 40 }),
  fc.integer({ min: 1, max: 3000 }),
  fc.integer({ min: 1, max: 100_000 }),
);

/** Any body at all. */
const anyBody: fc.Arbitrary<Body> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('none' as const), declareZero: fc.boolean() }) },
  {
    weight: 3,
    arbitrary: json(fc.oneof(commandBody, decisionBody, fc.jsonValue({ maxDepth: 60, stringUnit: 'binary' }))),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('text' as const),
      text: fc.oneof(
        fc.constantFrom(...ODD_BODIES),
        fc.string({ unit: 'binary' }),
        fc.record({
          repeat: fc.constantFrom('a', '[', '{"a":', '"\\u00e9', '😀'),
          times: fc.integer({ min: 1, max: 90_000 }),
        }),
      ),
      framing,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('bytes' as const),
      bytes: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 300 }),
      framing,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('deep' as const),
      depth,
      shape: fc.constantFrom('array' as const, 'object' as const, 'mixed' as const),
      inside: fc.constantFrom('bare' as const, 'params' as const),
      framing,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('huge' as const),
      bytes: fc.integer({ min: 65_000, max: 300_000 }),
      inside: fc.constantFrom('bare' as const, 'params' as const),
      framing,
    }),
  },
);

/** The body the route at `path` reads, mostly; any body otherwise, and always sometimes. */
export function hostileBody(path: string | undefined): fc.Arbitrary<Body> {
  const expected =
    path === '/sidecar/command'
      ? json(commandBody)
      : path === '/approvals/{ask_id}/decide'
        ? json(decisionBody)
        : path === '/agent/autopilot'
          ? json(autopilotBody)
          : path?.startsWith('/admin/tasks/{command_id}/')
            ? json(reasonBody)
            : fc.record({ kind: fc.constant('none' as const), declareZero: fc.boolean() });
  return fc.oneof({ weight: 3, arbitrary: expected }, { weight: 1, arbitrary: anyBody });
}
