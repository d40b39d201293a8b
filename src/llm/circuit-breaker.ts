/** A provider's circuit: closed (calls go through), open (they do not), half-open (one trial call). */
export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerSettings {
  readonly windowMs: number;
  readonly failThreshold: number;
  readonly cooldownMs: number;
}

/**
 * One provider's circuit breaker: opens after `failThreshold` failures within `windowMs`, lets
 * one trial call through after `cooldownMs` (half-open), closes on its success and opens again
 * on its failure. `onChange` hears every opening and closing.
 */
export class CircuitBreaker {
  private failures: number[] = [];
  private openedAt: number | undefined;
  private trialInFlight = false;

  constructor(
    private readonly settings: BreakerSettings,
    private readonly onChange: (state: BreakerState, failures: number) => void = () => {},
  ) {}

  state(now: number): BreakerState {
    if (this.openedAt === undefined) return 'closed';
    return now - this.openedAt >= this.settings.cooldownMs ? 'half_open' : 'open';
  }

  /** Whether a call may go through now; a half-open breaker lets one through at a time. */
  admit(now: number): boolean {
    const state = this.state(now);
    if (state === 'closed') return true;
    if (state === 'open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  succeeded(): void {
    this.trialInFlight = false;
    this.failures = [];
    if (this.openedAt === undefined) return;
    this.openedAt = undefined;
    this.onChange('closed', 0);
  }

  failed(now: number): void {
    const trial = this.trialInFlight;
    this.trialInFlight = false;
    this.failures = [...this.failures.filter((at) => now - at < this.settings.windowMs), now];
    if (trial || (this.openedAt === undefined && this.failures.length >= this.settings.failThreshold)) {
      this.openedAt = now;
      this.onChange('open', this.failures.length);
    }
  }
}
