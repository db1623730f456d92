import { Redis } from 'ioredis';
import type { Logger } from '@tinyb/core';
import { redisConnectionOptions } from './redis-connection-options.js';

/**
 * A normal ioredis connection for `REDIS_URL`, for the apps' composition roots (so only this package and
 * `events` know ioredis). Connection errors are logged, not thrown: ioredis reconnects by itself.
 */
export function createRedisConnection(redisUrl: string, logger: Logger): Redis {
  const redis = new Redis(redisConnectionOptions(redisUrl));
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
  return redis;
}
