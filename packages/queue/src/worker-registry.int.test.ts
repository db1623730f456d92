import { RedisFixture } from '@tinyb/testkit/redis';
import { RedisLease } from './redis-lease.js';
import { WorkerRegistry } from './worker-registry.js';

describe('WorkerRegistry', () => {
  let fixture: RedisFixture;
  beforeEach(() => {
    fixture = new RedisFixture('registry');
  });
  afterEach(() => fixture.cleanup());

  const ad = (workerId: string, agents: string[]) => ({
    workerId,
    agents: agents.map((name) => ({ name, ...(name === 'openai' ? { defaultModel: 'gpt-x' } : {}) })),
    sandbox: 'local',
    startedAt: new Date(0).toISOString(),
  });

  it('offers the union of live workers\' agents, counting workers, and forgets workers whose advertisement expired', async () => {
    const registry = new WorkerRegistry({ redis: fixture.connect(), prefix: fixture.prefix, ttlMs: 60_000 });
    const now = Date.now();
    await registry.advertise(ad('w1', ['claude-code', 'gemini']), now);
    await registry.advertise(ad('w2', ['claude-code', 'openai']), now);
    await registry.advertise(ad('w3', ['codex']), now - 120_000); // last seen two minutes ago
    expect(await registry.offeredAgents(now)).toEqual([
      { name: 'claude-code', workers: 2, defaultModels: [] },
      { name: 'gemini', workers: 1, defaultModels: [] },
      { name: 'openai', workers: 1, defaultModels: ['gpt-x'] },
    ]);
    expect((await registry.liveWorkers(now)).map((w) => w.workerId).sort()).toEqual(['w1', 'w2']);
    // A new advertisement replaces the old one of the same worker.
    await registry.advertise(ad('w1', ['gemini']), now);
    expect((await registry.offeredAgents(now)).find((a) => a.name === 'claude-code')?.workers).toBe(1);
  });

  it('keeps advertising on a heartbeat until stopped', async () => {
    const registry = new WorkerRegistry({ redis: fixture.connect(), prefix: fixture.prefix, ttlMs: 1_000 });
    const heartbeat = await registry.startHeartbeat(ad('w1', ['claude-code']), 100);
    await new Promise((r) => setTimeout(r, 1_300));
    expect(await registry.offeredAgents()).toHaveLength(1); // renewed, though the first one expired
    heartbeat.stop();
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await registry.offeredAgents()).toEqual([]);
  });
});

describe('RedisLease', () => {
  let fixture: RedisFixture;
  beforeEach(() => {
    fixture = new RedisFixture('lease');
  });
  afterEach(() => fixture.cleanup());

  it('has one holder at a time, which only its holder can release, and which expires', async () => {
    const redis = fixture.connect();
    const key = `${fixture.prefix}:chore`;
    const a = new RedisLease(redis, key);
    const b = new RedisLease(redis, key);
    expect(await a.tryAcquire(5_000)).toBe(true);
    expect(await b.tryAcquire(5_000)).toBe(false);
    await b.release(); // not b's: changes nothing
    expect(await b.tryAcquire(5_000)).toBe(false);
    await a.release();
    expect(await b.tryAcquire(200)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(await a.tryAcquire(5_000)).toBe(true);
  });
});
