import { RedisFixture } from '@tinyb/testkit/redis';
import { RedisSubmitRateLimiter } from './redis-submit-rate-limiter.js';

describe('RedisSubmitRateLimiter', () => {
  let fixture: RedisFixture;
  beforeEach(() => {
    fixture = new RedisFixture('ratelimit');
  });
  afterEach(() => fixture.cleanup());

  it('allows N submits a minute per tenant, then refuses with the time until the window resets', async () => {
    const limiter = new RedisSubmitRateLimiter({ redis: fixture.connect(), prefix: fixture.prefix, submitsPerMinute: 3 });
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limiter.consume('alice'));
    expect(decisions.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    expect(decisions[3]).toMatchObject({ limit: 3 });
    expect(decisions[3]!.resetMs).toBeGreaterThan(50_000);
    expect(decisions[3]!.resetMs).toBeLessThanOrEqual(60_000);
    // Another tenant counts on its own.
    expect(await limiter.consume('bob')).toMatchObject({ allowed: true, remaining: 2 });
  });

  it('shares the count between limiters on the same Redis (two API processes)', async () => {
    const a = new RedisSubmitRateLimiter({ redis: fixture.connect(), prefix: fixture.prefix, submitsPerMinute: 2 });
    const b = new RedisSubmitRateLimiter({ redis: fixture.connect(), prefix: fixture.prefix, submitsPerMinute: 2 });
    expect((await a.consume('alice')).allowed).toBe(true);
    expect((await b.consume('alice')).allowed).toBe(true);
    expect((await a.consume('alice')).allowed).toBe(false);
  });
});
