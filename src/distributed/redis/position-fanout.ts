import type { Redis } from 'ioredis';
import { tenantKey, type Tenant } from '../../events/tenant.js';
import type { Logger } from '../../observability/logger.js';
import type { AppendObserver } from '../../store/observed-store.js';
import { redisKeys } from './keys.js';

/**
 * Announces appends' last positions on the tenant's Redis channel, so every replica's
 * subscribers wake at once: one message per tenant per turn of the event loop, however many
 * appends the turn committed. Best effort: a lost message costs latency, never a gap, because
 * subscribers always read from the store.
 */
export function announcePositions(redis: Redis): AppendObserver {
  const due = new Map<string, { tenant: Tenant; position: number }>();
  const flush = () => {
    const pending = [...due.values()];
    due.clear();
    if (redis.status !== 'ready' || pending.length === 0) return;
    const pipeline = redis.pipeline();
    for (const { tenant, position } of pending) pipeline.publish(redisKeys.positions(tenant), String(position));
    pipeline.exec().catch(() => undefined);
  };
  return (tenant, result) => {
    const last = result.events[result.events.length - 1];
    if (!last) return;
    const key = tenantKey(tenant);
    if (due.size === 0) setImmediate(flush);
    if ((due.get(key)?.position ?? 0) < last.position) due.set(key, { tenant, position: last.position });
  };
}

/** Wakes `wake` at most once per turn of the event loop, however many announcements arrive. */
function coalesced(wake: () => void): () => void {
  let scheduled = false;
  return () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      wake();
    });
  };
}

/** Calls `wake` whenever any replica announces a new position; resubscribes after Redis comes back. */
export async function followPositions(subscriber: Redis, wake: () => void, logger: Logger): Promise<void> {
  const wakeSoon = coalesced(wake);
  subscriber.on('pmessage', wakeSoon);
  // ioredis re-subscribes by itself after a reconnect (autoResubscribe); wake then, in case
  // announcements were missed while it was away.
  subscriber.on('ready', wakeSoon);
  await subscriber
    .psubscribe(redisKeys.allPositions)
    .catch((error: unknown) => logger.warn({ err: error }, 'cannot follow positions on Redis yet'));
}
