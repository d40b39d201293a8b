import { z } from 'zod';
import { codeList, flag, int, variable, type Variable } from './variable.js';

const providerName = z.enum(['anthropic', 'openai', 'gemini', 'zai']);
const pricesSchema = z.record(
  z.string(),
  z.object({ input_per_mtok: z.number().nonnegative(), output_per_mtok: z.number().nonnegative() }).strict(),
);

// One LLM provider's key, model and base URL (a proxy or gateway).
const apiKeyOf = (vendor: string) =>
  variable(
    'OPTIONAL',
    z.string().min(1).optional(),
    `${vendor} API key; the provider is configured when it is set.`,
    '',
    'secret',
  );
const modelOf = (vendor: string, model: string) =>
  variable('OPTIONAL', z.string().min(1).default(model), `${vendor} model.`, model);
const baseUrlOf = (vendor: string) =>
  variable('ADVANCED', z.url().optional(), `${vendor} API base URL (a proxy or gateway). Default: the vendor's.`);

/** LLM routing: providers, fallbacks, budget, prices and circuit breakers. */
export const llmVariables = {
  LLM_PRIMARY_PROVIDER: variable(
    'OPTIONAL',
    providerName.optional(),
    'The LLM provider llm.complete and llm.extract try first: anthropic, openai, gemini or zai.',
  ),
  LLM_FALLBACK_PROVIDERS: variable(
    'OPTIONAL',
    z.string().default('').transform(codeList).pipe(z.array(providerName)),
    'Providers tried next, in order, e.g. gemini,openai.',
  ),
  LLM_REQUIRED: variable(
    'OPTIONAL',
    flag('false'),
    'true: NEXUS refuses to start without a configured LLM provider.',
    'false',
  ),
  ANTHROPIC_API_KEY: apiKeyOf('Anthropic'),
  ANTHROPIC_MODEL: modelOf('Anthropic', 'claude-sonnet-4-5-20250929'),
  ANTHROPIC_BASE_URL: baseUrlOf('Anthropic'),
  OPENAI_API_KEY: apiKeyOf('OpenAI'),
  OPENAI_MODEL: modelOf('OpenAI', 'gpt-4'),
  OPENAI_BASE_URL: baseUrlOf('OpenAI'),
  GEMINI_API_KEY: apiKeyOf('Google Gemini'),
  GEMINI_MODEL: modelOf('Google Gemini', 'gemini-3-flash-preview'),
  GEMINI_BASE_URL: baseUrlOf('Google Gemini'),
  ZAI_API_KEY: apiKeyOf('Z.ai'),
  ZAI_MODEL: modelOf('Z.ai', 'glm-4.6'),
  ZAI_BASE_URL: variable(
    'ADVANCED',
    z.url().default('https://api.z.ai/api/paas/v4'),
    'Z.ai API base URL (OpenAI-compatible).',
    'https://api.z.ai/api/paas/v4',
  ),
  LLM_TIMEOUT_SECONDS: variable(
    'ADVANCED',
    int(1, 3600, 60),
    'How long one LLM call may take (then PROVIDER_TIMEOUT).',
    '60',
  ),
  LLM_BUDGET_DAILY_USD: variable(
    'OPTIONAL',
    z.coerce.number().positive().optional(),
    'Daily LLM spend per tenant, in USD; a call that could take it past is not made (BUDGET_EXCEEDED, held). Unset: no budget.',
  ),
  LLM_AUDIT_ENABLED: variable(
    'OPTIONAL',
    flag('true'),
    'Record every LLM call (tokens, cost, latency, provider, model) as an event; GET /finops sums them.',
    'true',
  ),
  LLM_PRICES: variable(
    'ADVANCED',
    z
      .string()
      .optional()
      .transform((text, context) => {
        if (text === undefined) return {};
        try {
          return pricesSchema.parse(JSON.parse(text));
        } catch (error) {
          context.addIssue({ code: 'custom', message: `not a price table: ${(error as Error).message}` });
          return z.NEVER;
        }
      }),
    'Prices per model in USD per million tokens, as JSON: {"model":{"input_per_mtok":3,"output_per_mtok":15}}; added to the built-in table.',
  ),
  BREAKER_WINDOW_SECONDS: variable(
    'ADVANCED',
    int(1, 86_400, 300),
    "A provider's failures are counted over this window.",
    '300',
  ),
  BREAKER_FAIL_THRESHOLD: variable(
    'ADVANCED',
    int(1, 1000, 5),
    "Failures within the window that open the provider's circuit breaker.",
    '5',
  ),
  BREAKER_COOLDOWN_SECONDS: variable(
    'ADVANCED',
    int(1, 86_400, 120),
    'How long an open breaker waits before it lets one call through (half-open).',
    '120',
  ),
} satisfies Record<string, Variable>;
