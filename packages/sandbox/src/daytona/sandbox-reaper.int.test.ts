import { silentLogger } from '@tinyb/core';
import { RedisLease } from '@tinyb/queue';
import { startFakeDaytona, type FakeDaytona } from '@tinyb/testkit/fake-daytona';
import { RedisFixture } from '@tinyb/testkit/redis';
import { DaytonaSandboxProvider } from './daytona-sandbox-provider.js';
import { SandboxReaper } from './sandbox-reaper.js';

const apiKey = 'reaper-key';
const hourMs = 60 * 60 * 1000;

describe('SandboxReaper (real SDK against the fake Daytona, real Redis lease)', () => {
  let fake: FakeDaytona;
  let provider: DaytonaSandboxProvider;
  let redis: RedisFixture;
  const reapers: SandboxReaper[] = [];

  beforeEach(async () => {
    fake = await startFakeDaytona({ apiKey, listPageSize: 2 });
    provider = new DaytonaSandboxProvider({
      daytona: { apiUrl: fake.apiUrl, apiKey, target: 'local', useDeprecatedPolling: true },
      snapshot: 'tiny-backspace-agents',
      autoStopIntervalMin: 30,
      autoDeleteIntervalMin: 0,
      createTimeoutSec: 30,
      logger: silentLogger,
    });
    redis = new RedisFixture('sandbox-reaper');
  });

  afterEach(async () => {
    await Promise.all(reapers.splice(0).map((r) => r.stop()));
    await provider.close();
    await redis.cleanup();
    await fake.close();
  });

  const reaper = (active: Set<string>, intervalMs = 60_000): SandboxReaper => {
    const created = new SandboxReaper({
      provider,
      isJobActive: async (jobId) => active.has(jobId),
      maxAgeMs: 2 * hourMs,
      lease: new RedisLease(redis.connect(), `${redis.prefix}:reaper-lease`),
      logger: silentLogger,
      intervalMs,
    });
    reapers.push(created);
    return created;
  };

  it('deletes sandboxes of finished, unknown and overdue jobs; keeps the active one and never touches others', async () => {
    const real = await provider.create({ jobId: 'job-active', attempt: 1, toolPaths: [] }, new AbortController().signal);
    const finished = await fake.plant({ labels: { app: 'tiny-backspace', jobId: 'job-finished', attempt: '1' } });
    const unlabelled = await fake.plant({ labels: { app: 'tiny-backspace' } });
    const overdue = await fake.plant({
      labels: { app: 'tiny-backspace', jobId: 'job-active-but-stuck', attempt: '1' },
      createdAt: new Date(Date.now() - 3 * hourMs),
    });
    const foreign = await fake.plant({ labels: { app: 'someone-else', jobId: 'job-finished' }, createdAt: new Date(Date.now() - 30 * hourMs) });
    const unlabelledForeign = await fake.plant({ labels: {} });

    const result = await reaper(new Set(['job-active', 'job-active-but-stuck'])).sweepOnce();

    expect(result.ran).toBe(true);
    expect(Object.fromEntries(result.deleted.map((d) => [d.id, d.reason]))).toEqual({
      [finished.id]: 'job_not_active',
      [unlabelled.id]: 'no_job_label',
      [overdue.id]: 'too_old',
    });
    expect(result).toMatchObject({ kept: 1, failed: 0 });
    expect(fake.sandboxes().map((s) => s.id).sort()).toEqual([real.id, foreign.id, unlabelledForeign.id].sort());
    // Nothing was even asked of the foreign sandboxes.
    const touched = fake.requests.filter((r) => r.path.includes(foreign.id) || r.path.includes(unlabelledForeign.id));
    expect(touched).toEqual([]);
    await real.destroy();
  });

  it('lets only one of two reapers sweep at a time', async () => {
    await fake.plant({ labels: { app: 'tiny-backspace', jobId: 'job-done', attempt: '1' } });
    const first = reaper(new Set());
    const second = reaper(new Set());
    const [a, b] = await Promise.all([first.sweepOnce(), second.sweepOnce()]);
    expect([a.ran, b.ran].sort()).toEqual([false, true]);
    expect(a.deleted.length + b.deleted.length).toBe(1);
    // The winner keeps the lease for the interval: a second round by either does nothing.
    expect((await second.sweepOnce()).ran).toBe(false);
    expect((await first.sweepOnce()).ran).toBe(false);
  });

  it('hands the lease over when stopped, and start() sweeps at once', async () => {
    const leaked = await fake.plant({ labels: { app: 'tiny-backspace', jobId: 'job-done', attempt: '1' } });
    const first = reaper(new Set());
    first.start();
    for (let i = 0; i < 50 && fake.sandboxes().some((s) => s.id === leaked.id); i++) await new Promise((r) => setTimeout(r, 100));
    expect(fake.sandboxes().some((s) => s.id === leaked.id)).toBe(false);
    const second = reaper(new Set());
    expect((await second.sweepOnce()).ran).toBe(false);
    await first.stop();
    expect((await second.sweepOnce()).ran).toBe(true);
  });

  it('keeps going when one deletion fails', async () => {
    const a = await fake.plant({ labels: { app: 'tiny-backspace', jobId: 'a', attempt: '1' } });
    const b = await fake.plant({ labels: { app: 'tiny-backspace', jobId: 'b', attempt: '1' } });
    fake.failNext({ method: 'DELETE', path: new RegExp(`^/api/sandbox/${a.id}$`), status: 500 });
    const result = await reaper(new Set()).sweepOnce();
    expect(result).toMatchObject({ ran: true, failed: 1 });
    expect(result.deleted.map((d) => d.id)).toEqual([b.id]);
    expect(fake.sandboxes().map((s) => s.id)).toEqual([a.id]);
  });
});
