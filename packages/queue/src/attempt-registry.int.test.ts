import { RedisFixture } from '@tinyb/testkit/redis';
import { AttemptRegistry } from './attempt-registry.js';

describe('AttemptRegistry', () => {
  let fixture: RedisFixture;
  beforeEach(() => {
    fixture = new RedisFixture('attempts');
  });
  afterEach(() => fixture.cleanup());

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const attempt = (jobId: string, n: number, workerId: string) => ({
    jobId,
    attempt: n,
    workerId,
    host: 'host-a',
    startedAt: new Date(Date.UTC(2025, 0, 1, 0, 0, n)).toISOString(),
  });

  it('records an attempt, then its sandbox, and forgets it when it ends', async () => {
    const registry = new AttemptRegistry({ redis: fixture.connect(), prefix: fixture.prefix });
    await registry.begin(attempt('job-1', 1, 'host-a:1'));
    expect(await registry.get('job-1', 1)).toEqual(attempt('job-1', 1, 'host-a:1'));
    await registry.attachSandbox('job-1', 1, { provider: 'local', id: 'job-1-1-abc', dir: '/tmp/sb/job-1-1-abc' });
    expect(await registry.attemptsOf('job-1')).toEqual([
      { ...attempt('job-1', 1, 'host-a:1'), sandbox: { provider: 'local', id: 'job-1-1-abc', dir: '/tmp/sb/job-1-1-abc' } },
    ]);
    await registry.end('job-1', 1);
    expect(await registry.list()).toEqual([]);
    await expect(registry.attachSandbox('job-1', 1, { provider: 'local', id: 'x' })).rejects.toThrow(/not registered/);
  });

  it('tells orphaned attempts (no live beat) from running ones, and a worker is dead once its beat expires', async () => {
    const registry = new AttemptRegistry({ redis: fixture.connect(), prefix: fixture.prefix, heartbeatTtlMs: 600 });
    const live = await registry.startHeartbeat('host-a:1', 100);
    const dying = await registry.startHeartbeat('host-a:2', 100);
    await registry.begin(attempt('job-1', 1, 'host-a:1'));
    await registry.begin(attempt('job-2', 1, 'host-a:2'));
    await registry.begin(attempt('job-3', 2, 'host-b:9')); // a worker that never beat here
    expect((await registry.orphaned()).map((a) => a.jobId)).toEqual(['job-3']);

    // A worker that stopped cleanly removes its beat at once.
    await dying.stop();
    expect(await registry.isAlive('host-a:2')).toBe(false);
    expect((await registry.orphaned()).map((a) => a.jobId).sort()).toEqual(['job-2', 'job-3']);

    // Beats keep a worker alive past its TTL; without them it lapses within the TTL.
    await sleep(900);
    expect(await registry.isAlive('host-a:1')).toBe(true);
    expect(await registry.aliveForMs('host-a:1')).toBeGreaterThan(0);
    await live.stop();
    expect(await registry.aliveForMs('host-a:1')).toBe(0);
  });

  it('lets a beat lapse by itself when its worker stops beating without saying so', async () => {
    const redis = fixture.connect();
    const registry = new AttemptRegistry({ redis, prefix: fixture.prefix, heartbeatTtlMs: 300 });
    // One beat, as from a worker that was SIGKILLed right after.
    const beat = await registry.startHeartbeat('host-a:3', 60_000);
    await registry.begin(attempt('job-4', 1, 'host-a:3'));
    expect(await registry.orphaned()).toEqual([]);
    const remaining = await registry.aliveForMs('host-a:3');
    expect(remaining).toBeGreaterThan(0);
    expect(remaining).toBeLessThanOrEqual(300);
    await sleep(remaining + 50);
    expect((await registry.orphaned()).map((a) => a.jobId)).toEqual(['job-4']);
    await beat.stop();
  });

  it('skips unreadable records instead of failing', async () => {
    const redis = fixture.connect();
    const registry = new AttemptRegistry({ redis, prefix: fixture.prefix });
    await redis.hset(`${fixture.prefix}:attempts`, 'junk:1', '{not json', 'half:1', JSON.stringify({ jobId: 'half' }));
    await registry.begin(attempt('job-5', 1, 'host-a:1'));
    expect((await registry.list()).map((a) => a.jobId)).toEqual(['job-5']);
  });
});
