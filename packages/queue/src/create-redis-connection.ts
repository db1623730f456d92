import { Redis } from 'ioredis';
import { AppError, type Logger } from '@tinyb/core';
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

/**
 * Waits until Redis answers a PING, so a process that cannot reach Redis at start says so in one line and
 * exits (its supervisor restarts it) instead of running half-connected.
 */
export async function waitForRedis(redis: Redis, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no answer';
  while (Date.now() < deadline) {
    try {
      const answer = await Promise.race([
        redis.ping(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('PING timed out')), 1_000).unref()),
      ]);
      if (answer === 'PONG') return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const { host, port } = redis.options;
  throw new AppError('internal', `cannot reach Redis at ${host}:${port} within ${timeoutMs} ms (${lastError}); check REDIS_URL`);
}
