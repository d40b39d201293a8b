import { Ajv, type ValidateFunction } from 'ajv';
import { generateObject, generateText, jsonSchema, streamText, type JSONSchema7, type LanguageModel, type LanguageModelUsage } from 'ai';
import { z } from 'zod';
import type { LlmMeter } from '../../llm/llm-meter.js';
import type { LlmProvider } from '../../llm/providers.js';
import type { LlmRouter, Routed } from '../../llm/router.js';
import { defineCommand, TaskFailure, type HandlerContext, type TenantMemory } from '../define-command.js';

const common = {
  prompt: z.string().min(1).max(200_000),
  system: z.string().max(50_000).optional(),
  /** Keys of the tenant's memory to give the model as context. */
  memory_keys: z.array(z.string().min(1)).max(50).optional(),
  /** The longest answer (and what the budget reserves for). */
  max_tokens: z.number().int().positive().max(64_000).default(1024),
};

/** The prompt, preceded by the asked-for keys of the tenant's memory. */
async function withMemory(prompt: string, keys: readonly string[] | undefined, memory: TenantMemory): Promise<string> {
  if (!keys || keys.length === 0) return prompt;
  const all = await memory.all();
  const lines = keys.filter((key) => key in all).map((key) => `${key}: ${JSON.stringify(all[key])}`);
  return lines.length === 0 ? prompt : `Context (project memory):\n${lines.join('\n')}\n\n${prompt}`;
}

const answer = <T extends { usage: { inputTokens: number | undefined; outputTokens: number | undefined } }>(routed: Routed<T>) => ({
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
  request: { model: LanguageModel; prompt: string; system?: string; maxOutputTokens?: number; abortSignal: AbortSignal },
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
  return { text, usage: usage ?? { inputTokens: undefined, outputTokens: undefined, totalTokens: undefined } as LanguageModelUsage };
}

const unavailable = () => new TaskFailure('HANDLER_UNAVAILABLE', 'no LLM provider is configured (LLM_PRIMARY_PROVIDER and its API key)');

const ajv = new Ajv({ allErrors: true, strict: false });
const validators = new Map<string, ValidateFunction>();
function validatorOf(schema: object): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = validators.get(key);
  if (!validate) {
    try {
      validate = ajv.compile(schema);
    } catch (error) {
      throw new TaskFailure('INVALID_SCHEMA', `the schema is not a valid JSON Schema: ${(error as Error).message}`);
    }
    if (validators.size > 500) validators.clear();
    validators.set(key, validate);
  }
  return validate;
}

/**
 * `llm.complete` (prompt → text) and `llm.extract` (prompt + JSON Schema → an object valid
 * against it), through the router: the primary provider, then the fallbacks.
 */
export function llmCommands(router: LlmRouter | undefined, meter?: LlmMeter) {
  /** The call through the router, metered against the tenant's budget when there is a meter. */
  const routed = <T extends { usage: { inputTokens: number | undefined; outputTokens: number | undefined } }>(
    type: string,
    context: HandlerContext,
    chars: number,
    maxTokens: number,
    run: (provider: LlmProvider, signal: AbortSignal) => Promise<T>,
  ): Promise<Routed<T>> => {
    const call = () => router!.call(run, context.signal);
    if (!meter) return call();
    const { tenant, correlation_id, command_id, task_id } = context;
    const ids = { command_id, task_id, command_type: type };
    return meter.metered({ tenant, correlation_id, actor: 'nexus-llm', ids, prompt_chars: chars, max_output_tokens: maxTokens, providers: router!.providers }, call);
  };
  const complete = defineCommand({
    type: 'llm.complete',
    risk: 'GREEN',
    description: 'Ask the configured LLM for a text answer',
    params: z.object({ ...common, /** Stream the answer, reporting its growth as task_progress. */ stream: z.boolean().default(false) }),
    handler: async ({ prompt, system, memory_keys, max_tokens, stream }, context) => {
      if (!router) throw unavailable();
      const full = await withMemory(prompt, memory_keys, context.memory);
      const result = await routed('llm.complete', context, full.length + (system?.length ?? 0), max_tokens, ({ languageModel }, abortSignal) => {
        const request = { model: languageModel, prompt: full, ...(system === undefined ? {} : { system }), maxOutputTokens: max_tokens, abortSignal };
        return stream ? streamed(request, context.progress) : generateText({ ...request, maxRetries: 0 });
      });
      return { text: result.value.text, ...answer(result) };
    },
  });
  const extract = defineCommand({
    type: 'llm.extract',
    risk: 'GREEN',
    description: 'Ask the configured LLM for an object that matches a JSON Schema',
    params: z.object({ ...common, schema: z.record(z.string(), z.unknown()) }),
    handler: async ({ prompt, system, memory_keys, max_tokens, schema }, context) => {
      if (!router) throw unavailable();
      const validate = validatorOf(schema);
      const full = await withMemory(prompt, memory_keys, context.memory);
      const checked = jsonSchema(schema as JSONSchema7, {
        validate: (value) =>
          validate(value) ? { success: true, value } : { success: false, error: new Error(ajv.errorsText(validate.errors)) },
      });
      const result = await routed('llm.extract', context, full.length + JSON.stringify(schema).length + (system?.length ?? 0), max_tokens, ({ languageModel }, abortSignal) =>
        generateObject({ model: languageModel, schema: checked, prompt: full, ...(system === undefined ? {} : { system }), maxOutputTokens: max_tokens, maxRetries: 0, abortSignal }),
      );
      return { object: result.value.object, ...answer(result) };
    },
  });
  return [complete, extract] as const;
}
