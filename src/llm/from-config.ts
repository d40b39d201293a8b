import type { Redis } from 'ioredis';
import { appendEvents } from '../commands/append-events.js';
import type { Config } from '../config/load-config.js';
import { RedisBreaker } from '../distributed/redis/breaker.js';
import { breakerStream, LLM_TENANT } from '../events/llm-events.js';
import type { Logger } from '../observability/logger.js';
import type { EventStore } from '../store/event-store.js';
import { DEFAULT_PRICES, LlmMeter } from './llm-meter.js';
import { configuredProviders, providerOrder } from './providers.js';
import { LlmRouter } from './router.js';

export interface RouterEnvironment {
  readonly logger: Logger;
  /** Where breaker openings and closings are recorded (NEXUS's own log, `LLM_TENANT`). */
  readonly record?: { readonly store: EventStore; readonly now: () => Date; readonly newEventId: () => string };
  /** Breakers shared by every process on this Redis; each process's own without it. */
  readonly redis?: Redis;
  /** Names this process in the shared breakers. */
  readonly processId?: string;
}

/** The router over the configured providers, or undefined when none is. */
export function llmRouterFrom(config: Config, environment: RouterEnvironment): LlmRouter | undefined {
  const providers = providerOrder(config, configuredProviders(config));
  if (providers.length === 0) return undefined;
  const { logger, record, redis } = environment;
  return new LlmRouter({
    providers,
    timeoutMs: config.LLM_TIMEOUT_SECONDS * 1000,
    breaker: {
      windowMs: config.BREAKER_WINDOW_SECONDS * 1000,
      failThreshold: config.BREAKER_FAIL_THRESHOLD,
      cooldownMs: config.BREAKER_COOLDOWN_SECONDS * 1000,
    },
    logger,
    ...(redis
      ? {
          breakerFor: (provider, settings) =>
            new RedisBreaker(redis, provider, settings, environment.processId ?? 'nexus'),
        }
      : {}),
    onBreaker: (provider, change) => {
      (change === 'opened' ? logger.warn.bind(logger) : logger.info.bind(logger))(
        { provider, breaker: change },
        `LLM circuit breaker ${change}`,
      );
      if (!record) return;
      const metadata = { correlation_id: `breaker-${provider}`, actor: 'nexus-llm', now: record.now() };
      const changed = { type: 'LlmBreakerChanged', data: { provider, change } } as const;
      appendEvents(
        record.store,
        { tenant: LLM_TENANT, stream: breakerStream(provider) },
        [{ events: [changed], metadata }],
        'any',
        record.newEventId,
      ).catch((error: unknown) => logger.error({ err: error }, 'breaker change not recorded'));
    },
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
