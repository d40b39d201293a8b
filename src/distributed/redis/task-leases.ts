import type { Redis } from 'ioredis';
import type { Tenant } from '../../events/tenant.js';
import { redisKeys } from './keys.js';

// Take the lease if it is free, or if its holder's heartbeat key is gone (the holder died).
const ACQUIRE = `
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] or redis.call('EXISTS', ARGV[3] .. holder .. ARGV[4]) == 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

// Keep our lease; take it back if it vanished (Redis restarted without persistence).
const RENEW = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if holder == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * Leases on tasks, so one task is never run by two workers at once. A lease lasts `ttlMs` and
 * is renewed while its task runs; a lease whose holder stopped heart-beating can be taken over
 * at once. The lease is the efficiency guard; the event log's expected revision is the fence
 * that refuses a stale worker's result.
 */
export class TaskLeases {
  constructor(
    private readonly redis: Redis,
    private readonly holder: string,
    private readonly ttlMs: number,
  ) {}

  async acquire(tenant: Tenant, commandId: string): Promise<boolean> {
    const [before, after] = redisKeys.workerAlive('\u0000').split('\u0000') as [string, string];
    const taken = await this.redis.eval(
      ACQUIRE,
      1,
      redisKeys.lease(tenant, commandId),
      this.holder,
      this.ttlMs,
      before,
      after,
    );
    return taken === 1;
  }

  /** False when another worker holds it now. */
  async renew(tenant: Tenant, commandId: string): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, redisKeys.lease(tenant, commandId), this.holder, this.ttlMs)) === 1;
  }

  async release(tenant: Tenant, commandId: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, redisKeys.lease(tenant, commandId), this.holder);
  }
}
