/** One bucket: its tokens, as of `updated`. */
export interface Bucket {
  tokens: number;
  updated: number;
}

/**
 * Token buckets by key: each holds up to `capacity`, refilled at `perSecond`, and the least
 * recently used are forgotten past `maxKeys`, so a flood of new keys costs bounded memory.
 * Callers take what they spend from the bucket `at(key, now)` hands them.
 *
 * @example
 *   const buckets = new TokenBuckets({ capacity: 400, perSecond: 200 });
 *   const bucket = buckets.at(tenant, Date.now());
 *   if (bucket.tokens >= 1) bucket.tokens -= 1;
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly options: { capacity: number; perSecond: number; maxKeys?: number }) {}

  /** The key's bucket, refilled up to `now` (milliseconds). */
  at(key: string, now: number): Bucket {
    const { capacity, perSecond } = this.options;
    const bucket = this.buckets.get(key) ?? { tokens: capacity, updated: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.updated) / 1000) * perSecond);
    bucket.updated = now;
    // Most recently used last: past `maxKeys` the least recently used goes.
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > (this.options.maxKeys ?? 10_000)) this.buckets.delete(this.buckets.keys().next().value!);
    return bucket;
  }
}
