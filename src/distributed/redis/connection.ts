import { Redis } from 'ioredis';
import type { Logger } from '../../observability/logger.js';

/**
 * A Redis client that reconnects by itself (ioredis does, with backoff) and fails commands
 * fast while Redis is away instead of queueing them: callers decide what waiting means.
 */
export function connectRedis(url: string, logger: Logger, name: string): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2000),
    lazyConnect: false,
  });
  let down = false;
  redis.on('error', (error: Error) => {
    if (!down) logger.warn({ err: error, client: name }, 'Redis is unreachable; reconnecting');
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info({ client: name }, 'Redis is back');
    down = false;
  });
  return redis;
}

/** Resolves once the client is ready (or rejects after `timeoutMs`). */
export function redisReady(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`Redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}
