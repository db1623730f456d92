import { startRedisServer, type RedisServer } from '@tinyb/testkit/redis-server';
import { Redis } from 'ioredis';
import { RedisCommandProfiler } from './redis-command-profile.js';

/** Against a private redis-server: INFO commandstats is the whole server's, and other tests share the usual one. */
describe('RedisCommandProfiler', () => {
  let server: RedisServer;
  let redis: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    redis.disconnect();
    await server.close();
  });

  it('counts, per job, the commands run over its spans only, a script and the commands it runs alike', async () => {
    const profiler = new RedisCommandProfiler(redis);
    // Outside any span: not counted.
    for (let i = 0; i < 50; i++) await redis.get('outside');
    for (let span = 0; span < 2; span++) {
      const end = await profiler.start();
      for (let job = 0; job < 10; job++) {
        await redis.set(`k${job}`, 'v');
        await redis.set(`k${job}`, 'w');
        await redis.eval("return redis.call('INCR', KEYS[1])", 1, 'counter');
      }
      await end(10);
    }
    const { perJob } = profiler.profile();
    expect(perJob['set']?.calls).toBe(2);
    expect(perJob['eval']?.calls).toBe(1);
    expect(perJob['incr']?.calls).toBe(1);
    // The 50 GETs came before the first span; INFO is the profiler's own.
    expect(perJob['get']).toBeUndefined();
    expect(perJob['info']).toBeUndefined();
    // Server time is per job, and the script's includes what it ran.
    expect(perJob['set']?.us).toBeGreaterThan(0);
    expect(perJob['eval']?.us).toBeGreaterThanOrEqual(perJob['incr']?.us ?? Infinity);
  });
});
