import type { ConnectionOptions } from 'bullmq';
import type { RedisOptions } from 'ioredis';
import { redisConnectionOptions } from './redis-connection-options.js';

describe('redisConnectionOptions', () => {
  it('defaults to the local Redis, db 0', () => {
    expect(redisConnectionOptions()).toEqual({ host: '127.0.0.1', port: 6379, db: 0, maxRetriesPerRequest: null, retryStrategy: expect.any(Function) });
  });

  it('reconnects after 50 ms, doubling to at most 1 s (plus under 100 ms of jitter), however long Redis is away', () => {
    const { retryStrategy } = redisConnectionOptions();
    const delays = [1, 2, 3, 5, 10, 1_000].map(retryStrategy);
    const floors = [50, 100, 200, 800, 1_000, 1_000];
    delays.forEach((delay, i) => {
      expect(delay).toBeGreaterThanOrEqual(floors[i]!);
      expect(delay).toBeLessThan(floors[i]! + 100);
    });
  });

  it('reads host, port, db index, user and password', () => {
    expect(redisConnectionOptions('redis://app:s%40cret@redis.internal:6380/4')).toEqual({
      host: 'redis.internal',
      port: 6380,
      db: 4,
      username: 'app',
      password: 's@cret',
      maxRetriesPerRequest: null,
      retryStrategy: expect.any(Function),
    });
    expect(redisConnectionOptions('redis://:pw@h/')).toMatchObject({ password: 'pw', db: 0 });
    expect(redisConnectionOptions('redis://[::1]:7000/2')).toMatchObject({ host: '::1', port: 7000, db: 2 });
  });

  it('turns on TLS for rediss:', () => {
    expect(redisConnectionOptions('rediss://cache.example.com')).toMatchObject({ tls: { servername: 'cache.example.com' } });
    expect(redisConnectionOptions('redis://cache.example.com').tls).toBeUndefined();
  });

  it('refuses other schemes and paths, without echoing the password', () => {
    for (const url of ['http://h:1', 'redis://u:hunter2@h/db', 'redis://u:hunter2@h/1/2', 'not a url hunter2']) {
      expect(() => redisConnectionOptions(url)).toThrow();
      expect(() => redisConnectionOptions(url)).not.toThrow(/hunter2/);
    }
  });

  it('fits both ioredis and BullMQ', () => {
    const opts = redisConnectionOptions();
    // Compile-time checks: these assignments are the point of the narrow type.
    const forIoredis: RedisOptions = opts;
    const forBullmq: ConnectionOptions = opts;
    expect(forIoredis).toBe(forBullmq);
  });
});
