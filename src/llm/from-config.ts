import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { configuredProviders, providerOrder } from './providers.js';
import { LlmRouter } from './router.js';
import { DEFAULT_PRICES, LlmMeter } from './llm-meter.js';
import type { EventStore } from '../store/event-store.js';

/** The router over the configured providers, or undefined when none is. */
export function llmRouterFrom(config: Config, logger: Logger): LlmRouter | undefined {
  const providers = providerOrder(config, configuredProviders(config));
  if (providers.length === 0) return undefined;
  return new LlmRouter({
    providers,
    timeoutMs: config.LLM_TIMEOUT_SECONDS * 1000,
    breaker: {
      windowMs: config.BREAKER_WINDOW_SECONDS * 1000,
      failThreshold: config.BREAKER_FAIL_THRESHOLD,
      cooldownMs: config.BREAKER_COOLDOWN_SECONDS * 1000,
    },
    logger,
    onBreaker: (provider, state, failures) =>
      (state === 'open' ? logger.warn.bind(logger) : logger.info.bind(logger))({ provider, breaker: state, failures }, `LLM circuit breaker ${state}`),
  });
}

/** The meter of LLM calls: the daily budget and the record of every call, as configured. */
export function llmMeterFrom(config: Config, store: EventStore, now: () => Date, newEventId: () => string): LlmMeter {
  return new LlmMeter({
    store,
    audit: config.LLM_AUDIT_ENABLED,
    prices: { ...DEFAULT_PRICES, ...config.LLM_PRICES },
    now,
    newEventId,
    ...(config.LLM_BUDGET_DAILY_USD === undefined ? {} : { budgetUsd: config.LLM_BUDGET_DAILY_USD }),
  });
}
