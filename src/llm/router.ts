import { TaskFailure } from '../catalog/define-command.js';
import type { Logger } from '../observability/logger.js';
import {
  LocalBreaker,
  type BreakerChange,
  type BreakerSettings,
  type BreakerState,
  type CircuitBreaker,
} from './circuit-breaker.js';
import { classify, isProviderFailure, isRetryable, type LlmFailureCode } from './failure-codes.js';
import type { LlmProvider, ProviderName } from './providers.js';

/** One call's outcome as the router reports it. */
export interface Routed<T> {
  readonly value: T;
  readonly provider: ProviderName;
  readonly model: string;
  readonly latency_ms: number;
  /** The providers tried before, and why they failed. */
  readonly fell_back_from: ReadonlyArray<{ provider: ProviderName; code: LlmFailureCode }>;
}

export interface RouterOptions {
  readonly providers: readonly LlmProvider[];
  readonly breaker: BreakerSettings;
  readonly timeoutMs: number;
  readonly logger: Logger;
  readonly now?: () => number;
  /** Hears every breaker opening and closing (recorded as events by the caller). */
  readonly onBreaker?: (provider: ProviderName, change: 'opened' | 'closed') => void;
  /** The breaker of each provider: this process's own by default, or shared (Redis). */
  readonly breakerFor?: (provider: ProviderName, settings: BreakerSettings) => CircuitBreaker;
}

/**
 * Sends each call to the first provider whose breaker admits it, falling back to the next on a
 * provider failure (timeout, 5xx, auth, rate limit); a bad answer (SCHEMA_*) ends the call. When
 * every provider failed or is open, the call fails with the last code, retryable or not as that
 * code says.
 */
export class LlmRouter {
  private readonly breakers = new Map<ProviderName, CircuitBreaker>();
  private readonly now: () => number;

  constructor(private readonly options: RouterOptions) {
    this.now = options.now ?? Date.now;
    const breakerFor = options.breakerFor ?? ((_provider, settings) => new LocalBreaker(settings));
    for (const { name } of options.providers) this.breakers.set(name, breakerFor(name, options.breaker));
  }

  get providers(): readonly LlmProvider[] {
    return this.options.providers;
  }

  breakerState(provider: ProviderName): Promise<BreakerState> | undefined {
    return this.breakers.get(provider)?.state(this.now());
  }

  private changed(provider: ProviderName, change: BreakerChange): void {
    if (change) this.options.onBreaker?.(provider, change);
  }

  async call<T>(
    run: (provider: LlmProvider, signal: AbortSignal) => Promise<T>,
    signal: AbortSignal,
  ): Promise<Routed<T>> {
    const failures: Array<{ provider: ProviderName; code: LlmFailureCode; message: string }> = [];
    for (const provider of this.options.providers) {
      const breaker = this.breakers.get(provider.name)!;
      if (!(await breaker.admit(this.now()))) continue;
      const deadline = AbortSignal.timeout(this.options.timeoutMs);
      const started = performance.now();
      try {
        const value = await run(provider, AbortSignal.any([signal, deadline]));
        this.changed(provider.name, await breaker.succeeded(this.now()));
        return {
          value,
          provider: provider.name,
          model: provider.model,
          latency_ms: performance.now() - started,
          fell_back_from: failures.map(({ provider: p, code }) => ({ provider: p, code })),
        };
      } catch (error) {
        if (signal.aborted) throw error;
        const code = classify(error, deadline.aborted);
        const message = error instanceof Error ? error.message : String(error);
        failures.push({ provider: provider.name, code, message });
        if (!isProviderFailure(code)) {
          this.changed(provider.name, await breaker.succeeded(this.now())); // the provider answered; the answer was wrong
          throw new TaskFailure(code, `${provider.name}: ${message}`, isRetryable(code));
        }
        this.changed(provider.name, await breaker.failed(this.now()));
        this.options.logger.warn({ provider: provider.name, code, err: error }, 'LLM provider failed; trying the next');
      }
    }
    const last = failures.at(-1);
    if (!last) throw new TaskFailure('PROVIDER_UPSTREAM_ERROR', "every LLM provider's circuit breaker is open", true);
    throw new TaskFailure(
      last.code,
      failures.map((f) => `${f.provider}: ${f.code} ${f.message}`).join('; '),
      isRetryable(last.code),
    );
  }
}
