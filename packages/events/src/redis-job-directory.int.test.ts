import { randomUUID } from 'node:crypto';
import type { NewJobEvent } from '@tinyb/contracts';
import { RedisFixture } from '@tinyb/testkit/redis';
import { jobEventKeys, jobIndexKeys } from './job-event-keys.js';
import { RedisJobDirectory } from './redis-job-directory.js';
import { RedisJobEvents } from './redis-job-events.js';

const queued = (tenant: string): NewJobEvent => ({ type: 'job.queued', repoUrl: 'https://github.example/o/r', agent: 'a', draft: false, tenant });
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('RedisJobDirectory on Redis', () => {
  let fixture: RedisFixture;
  let events: RedisJobEvents;

  beforeEach(() => {
    fixture = new RedisFixture('directory');
    events = new RedisJobEvents({ redis: fixture.connect(), keyPrefix: fixture.prefix });
  });
  afterEach(async () => {
    await events.close();
    await fixture.cleanup();
  });

  it('drops a job whose status expired from the listing, and its index entry with it', async () => {
    const redis = fixture.connect();
    const directory = new RedisJobDirectory({ redis, keyPrefix: fixture.prefix });
    const [kept, expired] = [randomUUID(), randomUUID()];
    await events.publish(kept, queued('alice'));
    await events.publish(expired, queued('alice'));
    await redis.del(jobEventKeys(fixture.prefix, expired).status);
    expect((await directory.listJobs({ tenant: 'alice', limit: 10 })).jobs.map((j) => j.id)).toEqual([kept]);
    expect(await redis.zcard(jobIndexKeys.tenant(fixture.prefix, 'alice'))).toBe(1);
  });

  it('answers with a cursor when its scan budget runs out before the page fills', async () => {
    const directory = new RedisJobDirectory({ redis: fixture.connect(), keyPrefix: fixture.prefix, scanBudget: 4 });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const id = randomUUID();
      await events.publish(id, queued('alice'));
      ids.unshift(id);
      await sleep(2);
    }
    await events.publish(ids[5]!, { type: 'job.cancelled' });
    // Four queued jobs are scanned and none is cancelled: an empty page that still says where to go on.
    const first = await directory.listJobs({ tenant: 'alice', state: 'cancelled', limit: 2 });
    expect(first.jobs).toEqual([]);
    expect(first.nextCursor).not.toBeNull();
    const second = await directory.listJobs({ tenant: 'alice', state: 'cancelled', limit: 2, cursor: first.nextCursor! });
    expect(second.jobs.map((j) => j.id)).toEqual([ids[5]]);
    expect(second.nextCursor).toBeNull();
  });

  it('gives back a slot whose job never got queued, or ended unseen, once the claim is old', async () => {
    const redis = fixture.connect();
    let nowMs = Date.now();
    const directory = new RedisJobDirectory({ redis, keyPrefix: fixture.prefix, claimGraceMs: 1_000, now: () => new Date(nowMs) });
    const orphan = randomUUID();
    expect(await directory.claimActiveSlot('alice', orphan, 1)).toBe(true);
    expect(await directory.claimActiveSlot('alice', randomUUID(), 1)).toBe(false);
    // Still within the grace period, the claim may be about to publish its job.queued: it keeps the slot.
    nowMs += 500;
    expect(await directory.claimActiveSlot('alice', randomUUID(), 1)).toBe(false);
    nowMs += 1_000;
    const next = randomUUID();
    expect(await directory.claimActiveSlot('alice', next, 1)).toBe(true);
    expect(await directory.activeJobIds('alice')).toEqual([next]);
  });

  it('writes the index entry, the slot and the event in one transaction, and trims entries past the horizon', async () => {
    const redis = fixture.connect();
    const old = new RedisJobEvents({ redis, keyPrefix: fixture.prefix, now: () => new Date(Date.now() - 10 * 24 * 3600_000) });
    await old.publish(randomUUID(), queued('alice'));
    expect(await redis.zcard(jobIndexKeys.all(fixture.prefix))).toBe(1);
    const jobId = randomUUID();
    await events.publish(jobId, queued('alice'));
    // The ten-day-old entry is beyond retention + active TTL (8 days by default): trimmed by this write.
    expect(await redis.zrange(jobIndexKeys.all(fixture.prefix), '0', '-1')).toEqual([expect.stringContaining(jobId)]);
    expect(await redis.zrange(jobIndexKeys.active(fixture.prefix, 'alice'), '0', '-1')).toContain(jobId);
    await events.publish(jobId, { type: 'job.succeeded', result: { outcome: 'no_changes', filesChanged: [], summary: '' } });
    expect(await redis.zrange(jobIndexKeys.active(fixture.prefix, 'alice'), '0', '-1')).not.toContain(jobId);
    await old.close();
  });
});
