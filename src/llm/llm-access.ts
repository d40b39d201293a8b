import {
  generateObject,
  generateText,
  jsonSchema,
  streamText,
  type JSONSchema7,
  type LanguageModel,
  type LanguageModelUsage,
} from 'ai';
import {
  TaskFailure,
  type HandlerContext,
  type LlmAccess,
  type LlmRequest,
  type TenantMemory,
} from '../catalog/define-command.js';
import { schemaValidators } from './json-schema-validator.js';
import type { LlmMeter } from './llm-meter.js';
import type { LlmProvider } from './providers.js';
import type { LlmRouter, Routed } from './router.js';

const DEFAULT_MAX_TOKENS = 1024;

/** What a call needs of the task it is made for. */
export type LlmCallContext = Pick<
  HandlerContext,
  'tenant' | 'command_type' | 'correlation_id' | 'command_id' | 'task_id' | 'signal' | 'memory' | 'progress'
>;

/** The prompt, preceded by the asked-for keys of the tenant's memory. */
async function withMemory(prompt: string, keys: readonly string[] | undefined, memory: TenantMemory): Promise<string> {
  if (!keys || keys.length === 0) return prompt;
  const all = await memory.all();
  const lines = keys.filter((key) => key in all).map((key) => `${key}: ${JSON.stringify(all[key])}`);
  return lines.length === 0 ? prompt : `Context (project memory):\n${lines.join('\n')}\n\n${prompt}`;
}

type WithUsage = { usage: LanguageModelUsage };

const answer = <T extends WithUsage>(routed: Routed<T>) => ({
  provider: routed.provider,
  model: routed.model,
  usage: { input_tokens: routed.value.usage.inputTokens ?? 0, output_tokens: routed.value.usage.outputTokens ?? 0 },
  latency_ms: Math.round(routed.latency_ms),
  ...(routed.fell_back_from.length > 0 ? { fell_back_from: routed.fell_back_from } : {}),
});

/**
 * A streamed answer, collected: the text so far goes out as `task_progress` as it grows. An
 * error in the stream is thrown, so the router classifies it like any other.
 */
async function streamed(
  request: { model: LanguageModel; prompt: string; system?: string; maxOutputTokens: number; abortSignal: AbortSignal },
  progress: HandlerContext['progress'],
): Promise<{ text: string; usage: LanguageModelUsage }> {
  // Errors arrive as stream parts (thrown below), not through the SDK's default logging.
  const result = streamText({ ...request, maxRetries: 0, onError: () => {} });
  let text = '';
  let usage: LanguageModelUsage | undefined;
  for await (const part of result.fullStream) {
    if (part.type === 'text-delta') {
      text += part.text;
      await progress({ message: `${text.length} characters so far` });
    } else if (part.type === 'error') throw part.error;
    else if (part.type === 'finish') usage = part.totalUsage;
  }
  request.abortSignal.throwIfAborted();
  return {
    text,
    usage: usage ?? ({ inputTokens: undefined, outputTokens: undefined, totalTokens: undefined } as LanguageModelUsage),
  };
}

/** Compiled schemas of `llm.extract`, shared by every tenant: each is compiled in isolation. */
const schemas = schemaValidators({ capacity: 200 });

/** The LLMs for one task: through `router`, metered by `meter`; HANDLER_UNAVAILABLE without a router. */
export function llmAccess(
  router: LlmRouter | undefined,
  meter: LlmMeter | undefined,
  context: LlmCallContext,
): LlmAccess {
  const routed = <T extends WithUsage>(
    chars: number,
    maxTokens: number,
    run: (provider: LlmProvider, signal: AbortSignal) => Promise<T>,
  ): Promise<Routed<T>> => {
    if (!router)
      throw new TaskFailure(
        'HANDLER_UNAVAILABLE',
        'no LLM provider is configured (LLM_PRIMARY_PROVIDER and its API key)',
      );
    const call = () => router.call(run, context.signal);
    if (!meter) return call();
    const { tenant, correlation_id, command_id, task_id, command_type } = context;
    const ids = { command_id, task_id, command_type };
    return meter.metered(
      {
        tenant,
        correlation_id,
        actor: 'nexus-llm',
        ids,
        prompt_chars: chars,
        max_output_tokens: maxTokens,
        providers: router.providers,
      },
      call,
    );
  };
  const prepare = async ({ prompt, system, memory_keys, max_tokens }: LlmRequest) => ({
    prompt: await withMemory(prompt, memory_keys, context.memory),
    ...(system === undefined ? {} : { system }),
    maxOutputTokens: max_tokens ?? DEFAULT_MAX_TOKENS,
  });
  return {
    async complete(request) {
      const prepared = await prepare(request);
      const chars = prepared.prompt.length + (prepared.system?.length ?? 0);
      const result = await routed(chars, prepared.maxOutputTokens, ({ languageModel }, abortSignal) => {
        const call = { model: languageModel, ...prepared, abortSignal };
        return request.stream ? streamed(call, context.progress) : generateText({ ...call, maxRetries: 0 });
      });
      return { text: result.value.text, ...answer(result) };
    },
    async extract(request) {
      const { schema, problemsOf } = schemas.of(request.schema);
      const prepared = await prepare(request);
      const checked = jsonSchema(schema as JSONSchema7, {
        validate: (value) => {
          const problems = problemsOf(value);
          return problems === undefined ? { success: true, value } : { success: false, error: new Error(problems) };
        },
      });
      const chars = prepared.prompt.length + JSON.stringify(schema).length + (prepared.system?.length ?? 0);
      const result = await routed(chars, prepared.maxOutputTokens, ({ languageModel }, abortSignal) =>
        generateObject({ model: languageModel, schema: checked, ...prepared, maxRetries: 0, abortSignal }),
      );
      return { object: result.value.object, ...answer(result) };
    },
  };
}
