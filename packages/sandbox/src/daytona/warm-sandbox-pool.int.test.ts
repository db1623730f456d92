import { silentLogger } from '@tinyb/core';
import { RedisLease } from '@tinyb/queue';
import { startFakeDaytona, type FakeDaytona } from '@tinyb/testkit/fake-daytona';
import { RedisFixture } from '@tinyb/testkit/redis';
import { DaytonaSandboxProvider } from './daytona-sandbox-provider.js';
import { SandboxReaper } from './sandbox-reaper.js';
import { WarmSandboxPool } from './warm-sandbox-pool.js';

const apiKey = 'pool-key';
const hourMs = 60 * 60 * 1000;
const never = new AbortController().signal;

async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The warm pool with the real Daytona SDK against the fake Daytona (sandboxes are real directories and processes). */
describe('WarmSandboxPool', () => {
  let fake: FakeDaytona;
  let provider: DaytonaSandboxProvider;
  let pool: WarmSandboxPool | undefined;

  beforeEach(async () => {
    fake = await startFakeDaytona({ apiKey });
    provider = new DaytonaSandboxProvider({
      daytona: { apiUrl: fake.apiUrl, apiKey, target: 'local', useDeprecatedPolling: true },
      snapshot: 'tiny-backspace-agents',
      autoStopIntervalMin: 15,
      autoDeleteIntervalMin: 0,
      createTimeoutSec: 30,
      logger: silentLogger,
    });
  });
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
    await provider.close();
    await fake.close();
  });

  const ours = async () => (await provider.listOwn()).sort((a, b) => a.id.localeCompare(b.id));

  it('lends a ready sandbox within 150 ms, relabelled for its job, used once, deleted by its job, and replaced', async () => {
    pool = new WarmSandboxPool({ provider, size: 2, logger: silentLogger });
    pool.start();
    await until(() => pool!.ready === 2);
    const waiting = await ours();
    expect(waiting.map((s) => [s.pool, s.jobId])).toEqual([[pool.poolId, undefined], [pool.poolId, undefined]]);

    const started = performance.now();
    const sandbox = await pool.create({ jobId: 'job-1', attempt: 1, toolPaths: [] }, never);
    const acquisitionMs = performance.now() - started;
    expect(acquisitionMs).toBeLessThan(150);
    expect(waiting.map((s) => s.id)).toContain(sandbox.id);
    expect((await ours()).find((s) => s.id === sandbox.id)).toMatchObject({ jobId: 'job-1', attempt: 1, pool: undefined });
    const echoed = await sandbox.exec(['sh', '-c', 'echo ready > probe && cat probe']);
    expect(echoed.stdout.trim()).toBe('ready');

    // Used once: the job's destroy deletes it, and the pool is back to two others.
    await sandbox.destroy();
    await until(async () => pool!.ready === 2 && (await ours()).length === 2);
    expect((await ours()).map((s) => s.id)).not.toContain(sandbox.id);
    const second = await pool.create({ jobId: 'job-2', attempt: 1, toolPaths: [] }, never);
    expect(second.id).not.toBe(sandbox.id);
    await second.destroy();
  });

  it('creates a sandbox for the job when the pool is empty, and deletes what waits when closed', async () => {
    pool = new WarmSandboxPool({ provider, size: 1, logger: silentLogger });
    // Not started: nothing waits, so the job's sandbox is made for it.
    const direct = await pool.create({ jobId: 'job-empty', attempt: 2, toolPaths: [] }, never);
    expect((await ours()).find((s) => s.id === direct.id)).toMatchObject({ jobId: 'job-empty', attempt: 2 });
    await direct.destroy();
    await until(() => pool!.ready === 1);
    await pool.close();
    expect(await ours()).toEqual([]);
  });

  it('skips a pooled sandbox that vanished (Daytona stopped and deleted it) and lends the next', async () => {
    pool = new WarmSandboxPool({ provider, size: 2, logger: silentLogger });
    pool.start();
    await until(() => pool!.ready === 2);
    const [first] = await ours();
    await provider.deleteById(first!.id);
    const sandbox = await pool.create({ jobId: 'job-x', attempt: 1, toolPaths: [] }, never);
    expect(sandbox.id).not.toBe(first!.id);
    expect((await ours()).find((s) => s.id === sandbox.id)?.jobId).toBe('job-x');
    await sandbox.destroy();
  });

  it('is left alone by the reaper while it waits, and reaped like any sandbox once past the age limit', async () => {
    const redis = new RedisFixture('warm-pool-reaper');
    try {
      pool = new WarmSandboxPool({ provider, size: 1, logger: silentLogger });
      pool.start();
      await until(() => pool!.ready === 1);
      const stale = await fake.plant({ labels: { app: 'tiny-backspace', pool: 'pool-of-a-dead-worker' }, createdAt: new Date(Date.now() - 3 * hourMs) });
      const reaper = new SandboxReaper({
        provider,
        isJobActive: async () => false,
        maxAgeMs: 2 * hourMs,
        lease: new RedisLease(redis.connect(), `${redis.prefix}:lease`),
        logger: silentLogger,
      });
      const result = await reaper.sweepOnce();
      await reaper.stop();
      expect(result.deleted).toEqual([{ id: stale.id, jobId: undefined, reason: 'too_old' }]);
      expect(result.kept).toBe(1);
      expect((await ours()).map((s) => s.pool)).toEqual([pool.poolId]);
    } finally {
      await redis.cleanup();
    }
  });
});
