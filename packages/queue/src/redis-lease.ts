import { randomUUID } from 'node:crypto';
import type { RedisClient } from './redis-target.js';

// Deletes the key only if it still holds our token, so a lease that expired and was taken by another
// process is never released by us.
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * A time-limited lease on a name: at most one holder at a time across every process on the Redis, for
 * periodic chores that must not run twice at once (the Daytona sandbox reaper). If the holder dies, the
 * lease expires after `ttlMs` and another process can take it.
 */
export class RedisLease {
  private readonly token = randomUUID();

  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
  ) {}

  async tryAcquire(ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.key, this.token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async release(): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, this.token);
  }
}
