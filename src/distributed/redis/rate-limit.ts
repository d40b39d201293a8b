import type { Redis } from 'ioredis';
import type { SharedBuckets } from '../../http/middleware/rate-limit.js';
import { redisKeys } from './keys.js';

// One token bucket per tenant in a hash {tokens, updated}; refill, take one if there is one.
// Answers the tokens there were before taking (below 1: refused).
const TAKE = `
local burst = tonumber(ARGV[2])
local rate = tonumber(ARGV[1])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1]) or burst
local updated = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - updated) / 1000 * rate)
local before = tokens
if tokens >= 1 then tokens = tokens - 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(before)`;

/** Rate-limit buckets every supervisor replica shares. */
export const redisBuckets =
  (redis: Redis): SharedBuckets =>
  async (tenant, { perSecond, burst }) => {
    if (redis.status !== 'ready') throw new Error('Redis is not ready');
    // The script reads Redis's clock, not this replica's: replicas' clocks may disagree.
    return Number(await redis.eval(TAKE, 1, redisKeys.rateLimit(tenant), perSecond, burst));
  };
