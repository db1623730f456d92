import { Redis } from 'ioredis';
import { AppError, type Logger } from '@tinyb/core';
import { redisConnectionOptions } from './redis-connection-options.js';

export interface RedisConnectionBehaviour {
  /**
   * For request paths that must answer while Redis is away (the API): no offline queue, so a command fails
   * at once while the connection is down, and every command fails after this long without a reply (a Redis
   * that is paused or cut off). The errors are recognised by `isRedisUnavailableError`. Unset (workers):
   * commands wait in ioredis' offline queue and are sent, in order, when Redis is back, so a job's events
   * published during an outage are delayed, not lost or reordered.
   */
  failFastAfterMs?: number;
}

/**
 * A normal ioredis connection for `REDIS_URL`, for the apps' composition roots (so only this package and
 * `events` know ioredis). Connection errors are logged, not thrown: ioredis reconnects by itself. Its
 * `duplicate()`s (the events' subscriber) behave the same.
 */
export function createRedisConnection(redisUrl: string, logger: Logger, behaviour: RedisConnectionBehaviour = {}): Redis {
  const failFast = behaviour.failFastAfterMs === undefined ? {} : { enableOfflineQueue: false, commandTimeout: behaviour.failFastAfterMs };
  const redis = new Redis({ ...redisConnectionOptions(redisUrl), ...failFast });
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
