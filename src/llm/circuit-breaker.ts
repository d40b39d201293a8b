/** A provider's circuit: closed (calls go through), open (they do not), half-open (one trial call). */
export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerSettings {
  readonly windowMs: number;
  readonly failThreshold: number;
  readonly cooldownMs: number;
}

/** What changed with a call's end: the breaker opened or closed, or nothing. */
export type BreakerChange = 'opened' | 'closed' | undefined;

/**
 * One provider's circuit breaker: opens after `failThreshold` failures within `windowMs`, lets
 * one trial call through after `cooldownMs` (half-open), closes on its success and opens again
 * on its failure. Asynchronous, so that several processes can share one (in Redis).
 */
export interface CircuitBreaker {
  state(now: number): Promise<BreakerState>;
  /** Whether a call may go through now; a half-open breaker lets one through at a time. */
  admit(now: number): Promise<boolean>;
  succeeded(now: number): Promise<BreakerChange>;
  failed(now: number): Promise<BreakerChange>;
}

/** A breaker of this process alone. */
export class LocalBreaker implements CircuitBreaker {
  private failures: number[] = [];
  private openedAt: number | undefined;
  private trialInFlight = false;

  constructor(private readonly settings: BreakerSettings) {}

  async state(now: number): Promise<BreakerState> {
    if (this.openedAt === undefined) return 'closed';
    return now - this.openedAt >= this.settings.cooldownMs ? 'half_open' : 'open';
  }

  async admit(now: number): Promise<boolean> {
    const state = await this.state(now);
    if (state === 'closed') return true;
    if (state === 'open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  async succeeded(): Promise<BreakerChange> {
    this.trialInFlight = false;
    this.failures = [];
    if (this.openedAt === undefined) return undefined;
    this.openedAt = undefined;
    return 'closed';
  }

  async failed(now: number): Promise<BreakerChange> {
    const trial = this.trialInFlight;
    this.trialInFlight = false;
    this.failures = [...this.failures.filter((at) => now - at < this.settings.windowMs), now];
    if (trial || (this.openedAt === undefined && this.failures.length >= this.settings.failThreshold)) {
      const wasOpen = this.openedAt !== undefined;
      this.openedAt = now;
      return wasOpen ? undefined : 'opened';
    }
    return undefined;
  }
}
