import { createAnthropic } from '@ai-sdk/anthropic';
import { createGoogleGenerativeAI } from '@ai-sdk/google';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModel } from 'ai';
import type { Config } from '../config/load-config.js';

export type ProviderName = 'anthropic' | 'openai' | 'gemini' | 'zai';

/** One configured provider: its model through the AI SDK's client for that vendor. */
export interface LlmProvider {
  readonly name: ProviderName;
  readonly model: string;
  readonly languageModel: LanguageModel;
}

const optional = <K extends string, V>(key: K, value: V | undefined) =>
  value === undefined ? {} : ({ [key]: value } as Record<K, V>);

/** The providers that have a key, each with its model and base URL from the configuration. */
export function configuredProviders(config: Config): Map<ProviderName, LlmProvider> {
  const providers = new Map<ProviderName, LlmProvider>();
  if (config.ANTHROPIC_API_KEY) {
    const anthropic = createAnthropic({
      apiKey: config.ANTHROPIC_API_KEY,
      ...optional('baseURL', config.ANTHROPIC_BASE_URL),
    });
    providers.set('anthropic', {
      name: 'anthropic',
      model: config.ANTHROPIC_MODEL,
      languageModel: anthropic(config.ANTHROPIC_MODEL),
    });
  }
  if (config.OPENAI_API_KEY) {
    // Chat Completions, the wire format every OpenAI-compatible gateway speaks.
    const openai = createOpenAI({ apiKey: config.OPENAI_API_KEY, ...optional('baseURL', config.OPENAI_BASE_URL) });
    providers.set('openai', {
      name: 'openai',
      model: config.OPENAI_MODEL,
      languageModel: openai.chat(config.OPENAI_MODEL),
    });
  }
  if (config.GEMINI_API_KEY) {
    const google = createGoogleGenerativeAI({
      apiKey: config.GEMINI_API_KEY,
      ...optional('baseURL', config.GEMINI_BASE_URL),
    });
    providers.set('gemini', { name: 'gemini', model: config.GEMINI_MODEL, languageModel: google(config.GEMINI_MODEL) });
  }
  if (config.ZAI_API_KEY) {
    const zai = createOpenAICompatible({ name: 'zai', apiKey: config.ZAI_API_KEY, baseURL: config.ZAI_BASE_URL });
    providers.set('zai', { name: 'zai', model: config.ZAI_MODEL, languageModel: zai.chatModel(config.ZAI_MODEL) });
  }
  return providers;
}

/** The order calls try providers in: the primary, then the fallbacks, each once, configured ones only. */
export function providerOrder(config: Config, providers: ReadonlyMap<ProviderName, LlmProvider>): LlmProvider[] {
  const names = [
    ...(config.LLM_PRIMARY_PROVIDER ? [config.LLM_PRIMARY_PROVIDER] : []),
    ...config.LLM_FALLBACK_PROVIDERS,
  ];
  const ordered = [...new Set(names)]
    .map((name) => providers.get(name))
    .filter((p): p is LlmProvider => p !== undefined);
  // No order given: every configured provider, in a fixed order.
  return ordered.length > 0 || names.length > 0 ? ordered : [...providers.values()];
}
