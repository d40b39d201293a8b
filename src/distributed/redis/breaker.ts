import type { Redis } from 'ioredis';
import type { BreakerChange, BreakerSettings, BreakerState, CircuitBreaker } from '../../llm/circuit-breaker.js';

// KEYS: failures (sorted set of times), opened (time it opened), trial (the half-open call).
// Each script answers what changed, so exactly one process reports an opening or a closing.

const ADMIT = `
local opened = redis.call('GET', KEYS[2])
if not opened then return 1 end
if tonumber(ARGV[1]) - tonumber(opened) < tonumber(ARGV[2]) then return 0 end
if redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[3]) then return 1 end
return 0`;

const FAILED = `
local now = tonumber(ARGV[1])
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local opened = redis.call('GET', KEYS[2])
local trial = redis.call('DEL', KEYS[3])
if opened and trial == 1 then redis.call('SET', KEYS[2], now) return 0 end
if not opened and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then redis.call('SET', KEYS[2], now) return 1 end
return 0`;

const SUCCEEDED = `
redis.call('DEL', KEYS[1], KEYS[3])
return redis.call('DEL', KEYS[2])`;

/**
 * A provider's breaker shared by every process on one Redis: failures, the opening and the
 * half-open trial live there, so one worker's failures open the breaker for all. While Redis
 * cannot answer, calls are admitted (the provider, not Redis, decides then).
 */
export class RedisBreaker implements CircuitBreaker {
  private readonly keys: [string, string, string];
  private sequence = 0;

  constructor(
    private readonly redis: Redis,
    provider: string,
    private readonly settings: BreakerSettings,
    private readonly id: string,
  ) {
    const base = `nexus:llm-breaker:${provider}`;
    this.keys = [`${base}:failures`, `${base}:opened`, `${base}:trial`];
  }

  async state(now: number): Promise<BreakerState> {
    const opened = await this.redis.get(this.keys[1]);
    if (opened === null) return 'closed';
    return now - Number(opened) >= this.settings.cooldownMs ? 'half_open' : 'open';
  }

  async admit(now: number): Promise<boolean> {
    return this.eval(ADMIT, [now, this.settings.cooldownMs, Math.max(this.settings.cooldownMs, 60_000)]).then(
      (admitted) => admitted === 1,
      () => true,
    );
  }

  async failed(now: number): Promise<BreakerChange> {
    const member = `${this.id}:${now}:${this.sequence++}`;
    const opened = await this.eval(FAILED, [now, this.settings.windowMs, this.settings.failThreshold, member]).catch(
      () => 0,
    );
    return opened === 1 ? 'opened' : undefined;
  }

  async succeeded(): Promise<BreakerChange> {
    const closed = await this.eval(SUCCEEDED, []).catch(() => 0);
    return closed === 1 ? 'closed' : undefined;
  }

  private eval(script: string, args: Array<string | number>): Promise<unknown> {
    return this.redis.eval(script, 3, ...this.keys, ...args);
  }
}
