import type { Redis } from 'ioredis';
import type { Tenant } from '../events/tenant.js';
import type { Logger } from '../logger.js';
import type { AppendObserver } from '../store/observed-store.js';
import { redisKeys } from './redis-keys.js';

/**
 * Announces every append's last position on the tenant's Redis channel, so every replica's
 * subscribers wake at once. Best effort: a lost message costs latency, never a gap, because
 * subscribers always read from the store.
 */
export const announcePositions =
  (redis: Redis): AppendObserver =>
  (tenant, result) => {
    const last = result.events[result.events.length - 1];
    if (last) announce(redis, tenant, last.position);
  };

function announce(redis: Redis, tenant: Tenant, position: number): void {
  if (redis.status !== 'ready') return;
  redis.publish(redisKeys.positions(tenant), String(position)).catch(() => undefined);
}

/** Calls `wake` whenever any replica announces a new position; resubscribes after Redis comes back. */
export async function followPositions(subscriber: Redis, wake: () => void, logger: Logger): Promise<void> {
  subscriber.on('pmessage', () => wake());
  // ioredis re-subscribes by itself after a reconnect (autoResubscribe); wake then, in case
  // announcements were missed while it was away.
  subscriber.on('ready', () => wake());
  await subscriber.psubscribe(redisKeys.allPositions).catch((error: unknown) => logger.warn({ err: error }, 'cannot follow positions on Redis yet'));
}
