import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Leadership } from '../../src/distributed/redis/leadership.js';
import { redisKeys } from '../../src/distributed/redis/keys.js';
import { redisBuckets } from '../../src/distributed/redis/rate-limit.js';
import { TaskLeases } from '../../src/distributed/redis/task-leases.js';
import { createLogger } from '../../src/observability/logger.js';
import { SERVICES } from '../support/distributed.js';
import { waitUntil } from '../support/wait.js';

// The Redis pieces of the distributed mode, against the real Redis of this machine.

let redis: Redis;
const tenant = () => ({ org_id: `t${randomBytes(4).toString('hex')}`, project_id: 'p' });
const alive = (worker: string) => redis.set(redisKeys.workerAlive(worker), Date.now(), 'PX', 60_000);

beforeAll(async () => {
  redis = new Redis(SERVICES.redis);
  await redis.ping();
});
afterAll(() => redis.disconnect());

describe('task leases', () => {
  it('one holder at a time; renewed by its holder only; released by its holder only', async () => {
    const t = tenant();
    const a = new TaskLeases(redis, 'worker-a', 60_000);
    const b = new TaskLeases(redis, 'worker-b', 60_000);
    await alive('worker-a');
    expect(await a.acquire(t, 'cmd')).toBe(true);
    expect(await b.acquire(t, 'cmd')).toBe(false);
    expect(await b.renew(t, 'cmd')).toBe(false);
    expect(await a.renew(t, 'cmd')).toBe(true);
    await b.release(t, 'cmd');
    expect(await b.acquire(t, 'cmd')).toBe(false);
    await a.release(t, 'cmd');
    expect(await b.acquire(t, 'cmd')).toBe(true);
  });

  it("a dead holder's lease (no heartbeat) is taken over at once; a lease that vanished is taken back by its holder", async () => {
    const t = tenant();
    const dead = new TaskLeases(redis, 'worker-dead', 60_000);
    const other = new TaskLeases(redis, 'worker-other', 60_000);
    expect(await dead.acquire(t, 'cmd')).toBe(true); // never heart-beat
    expect(await other.acquire(t, 'cmd')).toBe(true);
    await redis.del(redisKeys.lease(t, 'cmd')); // as after a Redis restart
    expect(await other.renew(t, 'cmd')).toBe(true);
    expect(await redis.get(redisKeys.lease(t, 'cmd'))).toBe('worker-other');
  });

  it('expires after its TTL when not renewed', async () => {
    const t = tenant();
    await alive('worker-slow');
    expect(await new TaskLeases(redis, 'worker-slow', 200).acquire(t, 'cmd')).toBe(true);
    await waitUntil(async () => (await redis.exists(redisKeys.lease(t, 'cmd'))) === 0, { what: 'the lease to expire' });
    expect(await new TaskLeases(redis, 'worker-next', 60_000).acquire(t, 'cmd')).toBe(true);
  });
});

describe('rate-limit buckets shared by replicas', () => {
  it('lets `burst` requests through at once, then refuses until the rate refills', async () => {
    const take = redisBuckets(redis);
    const t = tenant();
    const limits = { perSecond: 20, burst: 2 };
    expect(await take(t, limits)).toBeGreaterThanOrEqual(1);
    expect(await take(t, limits)).toBeGreaterThanOrEqual(1);
    expect(await take(t, limits)).toBeLessThan(1);
    // refilled at 20 per second, by Redis's clock
    await waitUntil(async () => (await take(t, limits)) >= 1, { timeoutMs: 2000, what: 'the bucket to refill' });
    // another tenant has its own bucket
    expect(await take(tenant(), limits)).toBeGreaterThanOrEqual(1);
  });
});

describe('dispatch leadership', () => {
  it('one leader; another takes over when it stops', async () => {
    const key = `nexus:test-leader:${randomBytes(4).toString('hex')}`;
    const logger = createLogger({ level: 'silent' });
    const gained: string[] = [];
    const first = new Leadership(redis, key, 'replica-1', 600, logger);
    const second = new Leadership(redis, key, 'replica-2', 600, logger);
    first.onGained(() => gained.push('replica-1'));
    second.onGained(() => gained.push('replica-2'));
    await first.start();
    await second.start();
    expect([first.isLeader, second.isLeader]).toEqual([true, false]);
    await first.stop();
    await waitUntil(() => second.isLeader, { what: 'the second replica to lead' });
    expect(gained).toEqual(['replica-1', 'replica-2']);
    await second.stop();
  });
});
