import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { llmComplete, llmExtract } from '../../src/catalog/commands/llm.js';
import { llmAccess } from '../../src/llm/llm-access.js';
import type { LlmMeter } from '../../src/llm/llm-meter.js';
import type { HandlerContext } from '../../src/catalog/define-command.js';
import { ConfigError, loadConfig } from '../../src/config/load-config.js';
import { llmMeterFrom, llmRouterFrom } from '../../src/llm/from-config.js';
import { memoryEventStore } from '../../src/store/memory/memory-event-store.js';
import { startTestNexus } from '../support/nexus.js';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisBreaker } from '../../src/distributed/redis/breaker.js';
import { SERVICES } from '../support/distributed.js';
import { configuredProviders, providerOrder } from '../../src/llm/providers.js';
import { LlmRouter } from '../../src/llm/router.js';
import { createLogger } from '../../src/observability/logger.js';
import { vendorServer, type VendorServer } from '../support/llm-servers.js';

// The AI SDK's real clients over real HTTP against local servers that speak each vendor's
// wire format; nothing of the library is mocked.

const logger = createLogger({ level: 'silent' });
let anthropic: VendorServer;
let openai: VendorServer;
let gemini: VendorServer;

beforeAll(async () => {
  [anthropic, openai, gemini] = await Promise.all([
    vendorServer('anthropic'),
    vendorServer('openai'),
    vendorServer('gemini'),
  ]);
});
afterAll(async () => {
  await Promise.all([anthropic.close(), openai.close(), gemini.close()]);
});
beforeEach(() => {
  for (const server of [anthropic, openai, gemini]) {
    server.behave({ kind: 'answer', text: 'hello from the model' });
    server.requests.length = 0;
  }
});

const config = (extra: Record<string, string> = {}) =>
  loadConfig({
    LLM_PRIMARY_PROVIDER: 'anthropic',
    LLM_FALLBACK_PROVIDERS: 'openai,gemini',
    ANTHROPIC_API_KEY: 'sk-ant-test',
    ANTHROPIC_BASE_URL: anthropic.baseUrl,
    OPENAI_API_KEY: 'sk-openai-test',
    OPENAI_BASE_URL: openai.baseUrl,
    GEMINI_API_KEY: 'gemini-test-key',
    GEMINI_BASE_URL: gemini.baseUrl,
    LLM_TIMEOUT_SECONDS: '1',
    ...extra,
  });

function context(router?: LlmRouter, meter?: LlmMeter, extra: Partial<HandlerContext> = {}): HandlerContext {
  const base = {
    tenant: { org_id: 'acme', project_id: 'web' },
    command_type: 'llm.complete',
    correlation_id: 'corr-llm',
    command_id: 'cmd-1',
    task_id: 'task-1',
    attempt: 1,
    signal: new AbortController().signal,
    logger,
    memory: {
      get: async () => undefined,
      all: async () => ({ tone: 'formal' }),
      set: async () => {},
      delete: async () => {},
    },
    progress: async () => {},
    ...extra,
  };
  return { ...base, llm: llmAccess(router, meter, base) };
}

function commands(router: LlmRouter | undefined, meter?: LlmMeter, extra: Partial<HandlerContext> = {}) {
  return {
    complete: async (params: Record<string, unknown>): Promise<unknown> =>
      llmComplete.handler!(llmComplete.params.parse(params), context(router, meter, extra)),
    extract: async (params: Record<string, unknown>): Promise<unknown> =>
      llmExtract.handler!(
        llmExtract.params.parse(params),
        context(router, meter, { ...extra, command_type: 'llm.extract' }),
      ),
  };
}

const failureOf = async (promise: Promise<unknown>) => {
  const error = (await promise.then(
    () => undefined,
    (e: unknown) => e,
  )) as { code?: string; retryable?: boolean } | undefined;
  return error && { code: error.code, retryable: error.retryable };
};

describe('llm.complete', () => {
  it('answers through the primary provider (Anthropic messages), with the tenant memory asked for', async () => {
    const { complete } = commands(llmRouterFrom(config(), { logger }));
    const result = await complete({ prompt: 'Say hello', system: 'Be brief', memory_keys: ['tone', 'absent'] });
    expect(result).toMatchObject({
      text: 'hello from the model',
      provider: 'anthropic',
      model: 'claude-sonnet-4-5-20250929',
      usage: { input_tokens: 11, output_tokens: 7 },
    });
    expect(anthropic.requests).toHaveLength(1);
    expect(anthropic.requests[0]!.path).toBe('/v1/messages');
    expect(anthropic.requests[0]!.headers['x-api-key']).toBe('sk-ant-test');
    expect(JSON.stringify(anthropic.requests[0]!.body.messages)).toContain('tone: \\"formal\\"');
  });

  it('falls back to the next provider when the primary fails: OpenAI chat completions, then Gemini generateContent', async () => {
    const { complete } = commands(llmRouterFrom(config(), { logger }));
    anthropic.behave({ kind: 'status', status: 500 });
    expect(await complete({ prompt: 'hi' })).toMatchObject({
      provider: 'openai',
      model: 'gpt-4',
      fell_back_from: [{ provider: 'anthropic', code: 'PROVIDER_UPSTREAM_ERROR' }],
    });
    expect(openai.requests[0]!.path).toBe('/v1/chat/completions');
    expect(openai.requests[0]!.headers.authorization).toBe('Bearer sk-openai-test');
    openai.behave({ kind: 'status', status: 503 });
    expect(await complete({ prompt: 'hi' })).toMatchObject({ provider: 'gemini', text: 'hello from the model' });
    expect(gemini.requests[0]!.path).toBe('/v1beta/models/gemini-3-flash-preview:generateContent');
  });

  it('reaches Z.ai through its OpenAI-compatible API', async () => {
    const { complete } = commands(
      llmRouterFrom(
        config({
          LLM_PRIMARY_PROVIDER: 'zai',
          LLM_FALLBACK_PROVIDERS: '',
          ZAI_API_KEY: 'zai-key',
          ZAI_BASE_URL: openai.baseUrl,
        }),
        { logger },
      ),
    );
    expect(await complete({ prompt: 'hi' })).toMatchObject({
      provider: 'zai',
      model: 'glm-4.6',
      text: 'hello from the model',
    });
    expect(openai.requests[0]).toMatchObject({
      path: '/v1/chat/completions',
      headers: { authorization: 'Bearer zai-key' },
      body: { model: 'glm-4.6' },
    });
  });

  it('classifies each upstream failure: 401, 429, 5xx, timeout, garbage', async () => {
    const only = (behaviour: Parameters<VendorServer['behave']>[0]) => {
      anthropic.behave(behaviour);
      return commands(llmRouterFrom(config({ LLM_FALLBACK_PROVIDERS: '' }), { logger })).complete({ prompt: 'hi' });
    };
    expect(await failureOf(only({ kind: 'status', status: 401 }))).toEqual({
      code: 'PROVIDER_AUTH_ERROR',
      retryable: false,
    });
    expect(await failureOf(only({ kind: 'status', status: 429 }))).toEqual({
      code: 'PROVIDER_RATE_LIMITED',
      retryable: true,
    });
    expect(await failureOf(only({ kind: 'status', status: 502 }))).toEqual({
      code: 'PROVIDER_UPSTREAM_ERROR',
      retryable: true,
    });
    expect(await failureOf(only({ kind: 'hang' }))).toEqual({ code: 'PROVIDER_TIMEOUT', retryable: true });
    expect(await failureOf(only({ kind: 'garbage' }))).toEqual({ code: 'PROVIDER_UPSTREAM_ERROR', retryable: true });
  });

  it('fails with HANDLER_UNAVAILABLE when no provider is configured, and LLM_REQUIRED refuses to start then', async () => {
    expect(llmRouterFrom(loadConfig({}), { logger })).toBeUndefined();
    expect(await failureOf(commands(undefined).complete({ prompt: 'hi' }))).toEqual({
      code: 'HANDLER_UNAVAILABLE',
      retryable: false,
    });
    expect(() => loadConfig({ LLM_REQUIRED: 'true' })).toThrow(ConfigError);
    expect(() => loadConfig({ LLM_REQUIRED: 'true' })).toThrow(/LLM_REQUIRED: true, but no LLM provider is configured/);
    expect(() => loadConfig({ LLM_REQUIRED: 'true', OPENAI_API_KEY: 'sk-x' })).not.toThrow();
  });
});

describe('llm.complete, streamed', () => {
  it('collects a streamed answer from each vendor, reporting its growth as progress', async () => {
    const long = 'A streamed answer, piece by piece.';
    for (const [primary, server] of [
      ['anthropic', anthropic],
      ['openai', openai],
      ['gemini', gemini],
    ] as const) {
      server.behave({ kind: 'answer', text: long });
      const progress: string[] = [];
      const { complete } = commands(
        llmRouterFrom(config({ LLM_PRIMARY_PROVIDER: primary, LLM_FALLBACK_PROVIDERS: '' }), { logger }),
        undefined,
        {
          progress: async ({ message }: { message?: string }) => void progress.push(message ?? ''),
        },
      );
      const result = await complete({ prompt: 'stream it', stream: true });
      expect(result).toMatchObject({ text: long, provider: primary, usage: { input_tokens: 11, output_tokens: 7 } });
      expect(progress.length).toBeGreaterThan(1);
      expect(progress.at(-1)).toBe(`${long.length} characters so far`);
    }
  });

  it('a stream that breaks off counts as a provider failure and falls back', async () => {
    anthropic.behave({ kind: 'broken-stream', text: 'This answer never finishes, it stops in the middle.' });
    const { complete } = commands(llmRouterFrom(config(), { logger }));
    expect(await complete({ prompt: 'stream it', stream: true })).toMatchObject({
      provider: 'openai',
      fell_back_from: [{ provider: 'anthropic', code: 'PROVIDER_UPSTREAM_ERROR' }],
    });
  });
});

describe('llm.extract', () => {
  const schema = {
    type: 'object',
    properties: { name: { type: 'string' }, age: { type: 'integer' } },
    required: ['name', 'age'],
    additionalProperties: false,
  };
  const openaiOnly = () =>
    commands(llmRouterFrom(config({ LLM_PRIMARY_PROVIDER: 'openai', LLM_FALLBACK_PROVIDERS: '' }), { logger }));

  it('returns an object valid against the schema', async () => {
    openai.behave({ kind: 'answer', text: '{"name":"Ada","age":36}' });
    expect(await openaiOnly().extract({ prompt: 'Who?', schema })).toMatchObject({
      object: { name: 'Ada', age: 36 },
      provider: 'openai',
    });
    expect(openai.requests.at(-1)!.body.response_format).toMatchObject({
      type: 'json_schema',
      json_schema: { schema: { required: ['name', 'age'] } },
    });
  });

  // Each vendor is asked for the schema in its own way, and answers JSON text.
  it.each([
    [
      'anthropic',
      (body: Record<string, unknown>) => (body.output_config as { format: { type: string; schema: unknown } }).format,
    ],
    [
      'gemini',
      (body: Record<string, unknown>) => body.generationConfig as { responseMimeType: string; responseSchema: unknown },
    ],
  ] as const)(
    'returns an object valid against the schema from %s too, having asked it for that schema',
    async (vendor, askedFor) => {
      const server = vendor === 'anthropic' ? anthropic : gemini;
      const only = commands(
        llmRouterFrom(config({ LLM_PRIMARY_PROVIDER: vendor, LLM_FALLBACK_PROVIDERS: '' }), { logger }),
      );
      server.behave({ kind: 'answer', text: '{"name":"Ada","age":36}' });
      expect(await only.extract({ prompt: 'Who?', schema })).toMatchObject({
        object: { name: 'Ada', age: 36 },
        provider: vendor,
      });
      const asked = askedFor(server.requests.at(-1)!.body);
      expect(asked).toMatchObject(
        vendor === 'anthropic'
          ? { type: 'json_schema', schema: { required: ['name', 'age'] } }
          : { responseMimeType: 'application/json', responseSchema: { required: ['name', 'age'] } },
      );
      server.behave({ kind: 'answer', text: '{"name":"Ada","age":"thirty-six"}' });
      expect(await failureOf(only.extract({ prompt: 'Who?', schema }))).toEqual({
        code: 'SCHEMA_VALIDATION_ERROR',
        retryable: false,
      });
    },
  );

  it('SCHEMA_PARSE_ERROR for an answer that is not JSON, SCHEMA_VALIDATION_ERROR for one that does not match', async () => {
    openai.behave({ kind: 'answer', text: 'Ada, 36 years old' });
    expect(await failureOf(openaiOnly().extract({ prompt: 'Who?', schema }))).toEqual({
      code: 'SCHEMA_PARSE_ERROR',
      retryable: false,
    });
    openai.behave({ kind: 'answer', text: '{"name":"Ada","age":"thirty-six"}' });
    expect(await failureOf(openaiOnly().extract({ prompt: 'Who?', schema }))).toEqual({
      code: 'SCHEMA_VALIDATION_ERROR',
      retryable: false,
    });
  });

  it('validates each call against its own schema, though two tenants give schemas the same $id', async () => {
    const $id = 'https://example.com/person.json';
    const byName = { $id, type: 'object', properties: { name: { type: 'string' } }, required: ['name'] };
    const byCode = { $id, type: 'object', properties: { code: { type: 'integer' } }, required: ['code'] };
    const other = commands(
      llmRouterFrom(config({ LLM_PRIMARY_PROVIDER: 'openai', LLM_FALLBACK_PROVIDERS: '' }), { logger }),
      undefined,
      { tenant: { org_id: 'other', project_id: 'p' } },
    );
    openai.behave({ kind: 'answer', text: '{"name":"Ada"}' });
    expect(await openaiOnly().extract({ prompt: 'Who?', schema: byName })).toMatchObject({ object: { name: 'Ada' } });
    openai.behave({ kind: 'answer', text: '{"code":7}' });
    expect(await other.extract({ prompt: 'Which?', schema: byCode })).toMatchObject({ object: { code: 7 } });
    openai.behave({ kind: 'answer', text: '{"name":"Ada"}' });
    expect(await failureOf(other.extract({ prompt: 'Which?', schema: byCode }))).toEqual({
      code: 'SCHEMA_VALIDATION_ERROR',
      retryable: false,
    });
    // nor can a schema reach another's through its $id
    const reaching = { type: 'object', properties: { who: { $ref: $id } } };
    expect(await failureOf(other.extract({ prompt: 'Who?', schema: reaching }))).toEqual({
      code: 'INVALID_SCHEMA',
      retryable: false,
    });
  });

  it('runs pattern and patternProperties with RE2: a pattern it cannot run safely is INVALID_SCHEMA, before any call', async () => {
    for (const pattern of ['^(?=a)a+$', '^(a)\\1$']) {
      expect(await failureOf(openaiOnly().extract({ prompt: 'Who?', schema: { type: 'string', pattern } }))).toEqual({
        code: 'INVALID_SCHEMA',
        retryable: false,
      });
      expect(
        await failureOf(
          openaiOnly().extract({
            prompt: 'Who?',
            schema: { type: 'object', patternProperties: { [pattern]: { type: 'string' } } },
          }),
        ),
      ).toEqual({ code: 'INVALID_SCHEMA', retryable: false });
    }
    expect(openai.requests).toHaveLength(0);
    openai.behave({ kind: 'answer', text: JSON.stringify({ word: `${'a'.repeat(40)}b` }) });
    const catastrophic = { type: 'object', properties: { word: { type: 'string', pattern: '^(a+)+$' } } };
    expect(await failureOf(openaiOnly().extract({ prompt: 'Which?', schema: catastrophic }))).toEqual({
      code: 'SCHEMA_VALIDATION_ERROR',
      retryable: false,
    });
  });

  it('refuses at the door a schema nested too deep or too large (422 invalid_params)', async () => {
    const nexus = await startTestNexus({ MAX_JSON_DEPTH: '200' });
    try {
      const tenant = { org_id: 'acme', project_id: 'web' };
      let deep: Record<string, unknown> = { type: 'string' };
      for (let i = 0; i < 40; i++) deep = { type: 'array', items: deep };
      const large = {
        type: 'object',
        properties: Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`property_${i}`, { type: 'string' }])),
      };
      for (const [schema, problem] of [
        [deep, /deeper than 32/],
        [large, /larger than 65536 bytes/],
      ] as const) {
        const response = await nexus.command(tenant, {
          command_type: 'llm.extract',
          params: { prompt: 'Who?', schema },
        });
        expect(response.status).toBe(422);
        const { error } = (await response.json()) as {
          error: { code: string; details: Array<{ path: string; message: string }> };
        };
        expect(error.code).toBe('invalid_params');
        expect(error.details).toEqual([{ path: 'schema', message: expect.stringMatching(problem) }]);
      }
      const fine = await nexus.command(tenant, { command_type: 'llm.extract', params: { prompt: 'Who?', schema } });
      expect(fine.status).toBe(202);
    } finally {
      await nexus.stop();
    }
  });
});

describe('circuit breakers', () => {
  it('open after the threshold, stay open through the cooldown, half-open, and close', async () => {
    let now = 1_000_000;
    const settings = config({
      BREAKER_FAIL_THRESHOLD: '2',
      BREAKER_COOLDOWN_SECONDS: '60',
      BREAKER_WINDOW_SECONDS: '300',
    });
    const changes: string[] = [];
    const router = new LlmRouter({
      providers: providerOrder(settings, configuredProviders(settings)),
      timeoutMs: 1000,
      breaker: { windowMs: 300_000, failThreshold: 2, cooldownMs: 60_000 },
      logger,
      now: () => now,
      onBreaker: (provider, change) => changes.push(`${provider} ${change}`),
    });
    const { complete } = commands(router);
    anthropic.behave({ kind: 'status', status: 500 });
    await complete({ prompt: '1' });
    await complete({ prompt: '2' });
    expect(changes).toEqual(['anthropic opened']);
    expect(anthropic.requests).toHaveLength(2);
    // open: the primary is not even asked
    now += 59_000;
    expect(await complete({ prompt: '3' })).toMatchObject({ provider: 'openai' });
    expect(anthropic.requests).toHaveLength(2);
    expect(await router.breakerState('anthropic')).toBe('open');
    // half-open after the cooldown: one trial call, which succeeds and closes it
    now += 2_000;
    expect(await router.breakerState('anthropic')).toBe('half_open');
    anthropic.behave({ kind: 'answer', text: 'back' });
    expect(await complete({ prompt: '4' })).toMatchObject({ provider: 'anthropic', text: 'back' });
    expect(changes).toEqual(['anthropic opened', 'anthropic closed']);
    expect(await router.breakerState('anthropic')).toBe('closed');
  });
});

describe('breakers shared through Redis', () => {
  it("one process's failures open the breaker for every process; one of them reports it", async () => {
    const redis = new Redis(SERVICES.redis);
    const provider = `anthropic-${randomUUID().slice(0, 8)}`;
    try {
      const settings = config({ LLM_FALLBACK_PROVIDERS: 'openai', BREAKER_FAIL_THRESHOLD: '2' });
      const changes: string[] = [];
      const worker = (id: string) =>
        new LlmRouter({
          providers: providerOrder(settings, configuredProviders(settings)),
          timeoutMs: 1000,
          breaker: { windowMs: 300_000, failThreshold: 2, cooldownMs: 60_000 },
          logger,
          breakerFor: (name, breaker) => new RedisBreaker(redis, `${name}-${provider}`, breaker, id),
          onBreaker: (name, change) => changes.push(`${id} ${name} ${change}`),
        });
      const [a, b] = [commands(worker('worker-a')), commands(worker('worker-b'))];
      anthropic.behave({ kind: 'status', status: 500 });
      await a.complete({ prompt: '1' });
      await b.complete({ prompt: '2' }); // the second failure, from another process, opens it
      expect(changes).toEqual(['worker-b anthropic opened']);
      const asked = anthropic.requests.length;
      expect(await a.complete({ prompt: '3' })).toMatchObject({ provider: 'openai' });
      expect(anthropic.requests.length).toBe(asked); // worker-a does not ask the open provider either
    } finally {
      await redis.del(
        `nexus:llm-breaker:anthropic-${provider}:failures`,
        `nexus:llm-breaker:anthropic-${provider}:opened`,
        `nexus:llm-breaker:anthropic-${provider}:trial`,
      );
      redis.disconnect();
    }
  });
});

describe('the daily budget', () => {
  it('50 concurrent calls against a budget that fits 10: 10 are made and charged, 40 fail with BUDGET_EXCEEDED', async () => {
    const store = memoryEventStore();
    const settings = config({
      LLM_PRIMARY_PROVIDER: 'openai',
      LLM_FALLBACK_PROVIDERS: '',
      LLM_BUDGET_DAILY_USD: '0.07',
    });
    // gpt-4 at $30/$60 per million: a 2-character prompt with max_tokens 100 reserves $0.00651
    const meter = llmMeterFrom(
      settings,
      store,
      () => new Date('2026-11-24T12:00:00Z'),
      () => randomUUID(),
    );
    const router = llmRouterFrom(settings, { logger });
    openai.behave({ kind: 'answer', text: 'paid answer', delayMs: 300 });
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        commands(router, meter, { command_id: `cmd-${i}`, task_id: `task-${i}` })
          .complete({ prompt: 'hi', max_tokens: 100 })
          .then(
            (): string | undefined => 'ok',
            (error: { code?: string }) => error.code,
          ),
      ),
    );
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(10);
    expect(outcomes.filter((o) => o === 'BUDGET_EXCEEDED')).toHaveLength(40);
    expect(openai.requests).toHaveLength(10);
    const calls = (await store.readFeed({ after: 0, limit: 1000 })).filter((e) => e.type === 'LlmCallRecorded');
    expect(calls).toHaveLength(10);
    const spent = calls.reduce((sum, e) => sum + (e.data as { cost_usd: number }).cost_usd, 0);
    expect(spent).toBeCloseTo(10 * ((11 * 30 + 7 * 60) / 1e6), 10);
    expect(calls[0]!.data).toMatchObject({
      provider: 'openai',
      model: 'gpt-4',
      input_tokens: 11,
      output_tokens: 7,
      outcome: 'ok',
      priced: true,
    });
  });

  it('through NEXUS: over budget the task is held (not dropped), and GET /finops sums the spend', async () => {
    const nexus = await startTestNexus({
      LLM_PRIMARY_PROVIDER: 'openai',
      OPENAI_API_KEY: 'sk-openai-test',
      OPENAI_BASE_URL: openai.baseUrl,
      LLM_BUDGET_DAILY_USD: '0.01',
    });
    try {
      const tenant = { org_id: 'spend', project_id: 'p' };
      const stream = await nexus.stream(tenant, { lastEventId: 0 });
      const send = async (max_tokens: number) =>
        (
          (await (
            await nexus.command(tenant, { command_type: 'llm.complete', params: { prompt: 'hi', max_tokens } })
          ).json()) as { command_id: string }
        ).command_id;
      const cheap = await send(100);
      const dear = await send(10_000); // may cost up to $0.60: never made
      await stream.until((c) => c.reports.some((r) => r.command_id === cheap && r.report_type === 'task_completed'));
      await stream.until((c) => c.reports.some((r) => r.command_id === dear && r.report_type === 'dlq_triaged'));
      expect(
        stream.reports.find((r) => r.command_id === dear && r.report_type === 'dlq_triaged')!.payload,
      ).toMatchObject({ action: 'hold', code: 'BUDGET_EXCEEDED' });
      expect(stream.reports.some((r) => r.report_type === 'llm_call' && r.command_id === cheap)).toBe(true);
      const finops = (await (await nexus.get('/finops', tenant)).json()) as {
        total: { calls: number; cost_usd: number };
        by_model: Record<string, { calls: number }>;
        by_command_type: Record<string, { calls: number }>;
      };
      expect(finops.total.calls).toBe(1);
      expect(finops.total.cost_usd).toBeCloseTo((11 * 30 + 7 * 60) / 1e6, 10);
      expect(finops.by_model['gpt-4']!.calls).toBe(1);
      expect(finops.by_command_type['llm.complete']!.calls).toBe(1);
      expect((await nexus.get('/finops', { org_id: 'other', project_id: 'p' })).status).toBe(200);
      expect(
        (
          (await (await nexus.get('/finops', { org_id: 'other', project_id: 'p' })).json()) as {
            total: { calls: number };
          }
        ).total.calls,
      ).toBe(0);
      stream.close();
    } finally {
      await nexus.stop();
    }
  });
});
