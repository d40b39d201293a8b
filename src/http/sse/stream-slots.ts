import { RequestError } from '../errors.js';

/** SSE_MAX_CONNECTIONS, _PER_TENANT, _PER_KEY. */
export interface StreamCaps {
  readonly total: number;
  readonly perTenant: number;
  readonly perKey: number;
}

/**
 * Counts the open SSE streams of the process, of each tenant and of each key, and refuses one
 * more past a cap with 429 (Retry-After), so no reader can hold every socket.
 *
 * @example
 *   const release = slots.take('acme/web', keyFingerprint); // throws RequestError(429) when full
 *   res.once('close', release);
 */
export class StreamSlots {
  private total = 0;
  private readonly byTenant = new Map<string, number>();
  private readonly byKey = new Map<string, number>();

  constructor(private readonly caps: StreamCaps) {}

  get open(): number {
    return this.total;
  }

  /** Takes a slot; the function it answers gives it back (once). */
  take(tenant: string, key: string): () => void {
    const full =
      this.total >= this.caps.total
        ? `this NEXUS serves ${this.caps.total} streams at most (SSE_MAX_CONNECTIONS)`
        : (this.byTenant.get(tenant) ?? 0) >= this.caps.perTenant
          ? `this tenant has ${this.caps.perTenant} streams open, its most (SSE_MAX_CONNECTIONS_PER_TENANT)`
          : (this.byKey.get(key) ?? 0) >= this.caps.perKey
            ? `this key has ${this.caps.perKey} streams open, its most (SSE_MAX_CONNECTIONS_PER_KEY)`
            : undefined;
    if (full) throw new RequestError(429, 'too_many_streams', full, { retry_after_seconds: 5 });
    this.total++;
    bump(this.byTenant, tenant, 1);
    bump(this.byKey, key, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      bump(this.byTenant, tenant, -1);
      bump(this.byKey, key, -1);
    };
  }
}

function bump(counts: Map<string, number>, key: string, by: number): void {
  const next = (counts.get(key) ?? 0) + by;
  if (next === 0) counts.delete(key);
  else counts.set(key, next);
}
