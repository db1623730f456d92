import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

/** The Redis the tests use: `REDIS_URL`, or the local default. */
export function testRedisUrl(): string {
  return process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
}

/**
 * A key prefix no other test (or parallel jest worker, or developer's running stack) uses, so tests can
 * share one Redis. Only `[a-z0-9:-]`, so it is safe inside a SCAN MATCH pattern.
 */
export function uniquePrefix(label = 'test'): string {
  const safe = label.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
  return `tbtest:${safe}:${randomUUID().slice(0, 8)}`;
}

/**
 * A plain ioredis connection to the test Redis. `db` overrides the URL's database index. It fails fast
 * (one retry per command) so a missing Redis fails a test instead of hanging it.
 */
export function connectRedis(opts: { url?: string; db?: number } = {}): Redis {
  return new Redis(opts.url ?? testRedisUrl(), {
    maxRetriesPerRequest: 1,
    ...(opts.db === undefined ? {} : { db: opts.db }),
  });
}

/** Deletes every key under `prefix` (SCAN + UNLINK, never KEYS). Returns how many went. */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** Closes connections politely, falling back to a hard disconnect, so jest never sees an open handle. */
export async function closeRedis(...connections: Redis[]): Promise<void> {
  await Promise.all(
    connections.map(async (c) => {
      if (c.status === 'end') return;
      await c.quit().catch(() => c.disconnect());
    }),
  );
}

/**
 * One test's Redis: a fresh prefix, and every connection it hands out tracked, so `cleanup()` (in
 * afterEach) deletes the test's keys and closes everything.
 */
export class RedisFixture {
  readonly prefix: string;
  private readonly connections: Redis[] = [];

  constructor(label = 'test') {
    this.prefix = uniquePrefix(label);
  }

  connect(opts: { url?: string; db?: number } = {}): Redis {
    const connection = connectRedis(opts);
    this.connections.push(connection);
    return connection;
  }

  /** Tracks a connection made elsewhere (a `duplicate()`, a subscriber) so cleanup closes it too. */
  track<T extends Redis>(connection: T): T {
    this.connections.push(connection);
    return connection;
  }

  /** Deletes the prefix's keys in the URL's database (and in `dbs`), then closes every tracked connection. */
  async cleanup(opts: { dbs?: number[] } = {}): Promise<void> {
    // A fresh connection: tracked ones may be in subscriber mode, on another db, or already closed.
    const admins = [connectRedis(), ...(opts.dbs ?? []).map((db) => connectRedis({ db }))];
    try {
      for (const admin of admins) await deleteKeysWithPrefix(admin, this.prefix);
    } finally {
      await closeRedis(...this.connections, ...admins);
      this.connections.length = 0;
    }
  }

  /**
   * Every key under the prefix with every value, whatever its type, as one string to search: for tests that
   * prove something (a secret) is stored nowhere.
   */
  async dump(): Promise<string> {
    const redis = this.connect();
    const parts: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${this.prefix}*`, 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        parts.push(key);
        const type = await redis.type(key);
        switch (type) {
          case 'string':
            parts.push((await redis.get(key)) ?? '');
            break;
          case 'hash':
            parts.push(JSON.stringify(await redis.hgetall(key)));
            break;
          case 'list':
            parts.push(JSON.stringify(await redis.lrange(key, 0, -1)));
            break;
          case 'set':
            parts.push(JSON.stringify(await redis.smembers(key)));
            break;
          case 'zset':
            parts.push(JSON.stringify(await redis.zrange(key, '0', '-1', 'WITHSCORES')));
            break;
          case 'stream':
            parts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
            break;
          case 'none':
            break; // expired between SCAN and TYPE
          default:
            throw new Error(`key ${key} has type ${type}, which this dump does not read`);
        }
      }
    } while (cursor !== '0');
    return parts.join('\n');
  }
}
