import { Cluster, Redis } from 'ioredis';
import { AppError, type Logger } from '@tinyb/core';
import { redisConnectionOptions, reconnectDelayMs } from './redis-connection-options.js';
import type { RedisClient, RedisTarget } from './redis-target.js';

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
 * A normal ioredis connection for `REDIS_URL` (or a `RedisTarget`: a single Redis, or an ioredis `Cluster`), for
 * the apps' composition roots (so only this package and `events` know ioredis). Connection errors are logged,
 * not thrown: ioredis reconnects by itself. Its `duplicate()`s (the events' subscriber, BullMQ's blocking
 * connections) behave the same; on a cluster each duplicate is a Cluster of its own, so pub/sub and blocking
 * reads never share a node connection with normal commands.
 */
export function createRedisConnection(target: string, logger: Logger, behaviour?: RedisConnectionBehaviour): Redis;
export function createRedisConnection(target: RedisTarget, logger: Logger, behaviour?: RedisConnectionBehaviour): RedisClient;
export function createRedisConnection(target: string | RedisTarget, logger: Logger, behaviour: RedisConnectionBehaviour = {}): RedisClient {
  const failFast = behaviour.failFastAfterMs === undefined ? {} : { enableOfflineQueue: false, commandTimeout: behaviour.failFastAfterMs };
  const resolved: RedisTarget = typeof target === 'string' ? { kind: 'single', options: redisConnectionOptions(target) } : target;
  let redis: RedisClient;
  if (resolved.kind === 'single') {
    redis = new Redis({ ...resolved.options, ...failFast });
  } else {
    const { retryStrategy, ...nodeOptions } = resolved.options;
    redis = new Cluster(resolved.nodes, {
      // The per-node reconnect is the cluster's to drive; the same short, jittered back-off as a single Redis.
      clusterRetryStrategy: retryStrategy,
      ...(failFast.enableOfflineQueue === false ? { enableOfflineQueue: false } : {}),
      redisOptions: { ...nodeOptions, ...(failFast.commandTimeout === undefined ? {} : { commandTimeout: failFast.commandTimeout }) },
    });
  }
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
  return redis;
}

/** A new connection like `redis` (a Cluster's duplicate is a Cluster), for pub/sub or blocking reads. */
export function duplicateConnection(redis: RedisClient): RedisClient {
  // Narrowed on purpose: the two classes' duplicate() signatures differ, so the union's cannot be called.
  return redis instanceof Cluster ? redis.duplicate() : redis.duplicate();
}

/**
 * Waits until Redis answers a PING, so a process that cannot reach Redis at start says so in one line and
 * exits (its supervisor restarts it) instead of running half-connected.
 */
export async function waitForRedis(redis: RedisClient, timeoutMs: number): Promise<void> {
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
  const where = redis instanceof Cluster ? 'the Redis Cluster' : `Redis at ${redis.options.host}:${redis.options.port}`;
  const setting = redis instanceof Cluster ? 'REDIS_CLUSTER_NODES' : 'REDIS_URL';
  throw new AppError('internal', `cannot reach ${where} within ${timeoutMs} ms (${lastError}); check ${setting}`);
}
