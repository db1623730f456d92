import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import type { NewJobEvent } from '@tinyb/contracts';
import type { StoredJobEvent } from '@tinyb/core';
import { startRedisCluster, type RedisCluster } from '@tinyb/testkit/redis-cluster';
import { jobEventKeys, jobIndexKeys } from './job-event-keys.js';
import { RedisJobDirectory } from './redis-job-directory.js';
import { RedisJobEvents } from './redis-job-events.js';

const queued = (tenant: string): NewJobEvent => ({ type: 'job.queued', repoUrl: 'https://github.example/o/r', agent: 'a', draft: false, tenant });

async function collect(source: AsyncIterable<StoredJobEvent>, count: number): Promise<StoredJobEvent[]> {
  const got: StoredJobEvent[] = [];
  for await (const item of source) {
    got.push(item);
    if (got.length === count) break;
  }
  return got;
}

// A real three-master cluster: a MULTI whose keys hash to two slots fails there with CROSSSLOT, and a
// pipeline over keys of several nodes is refused by ioredis, so these tests pin the key layout.
describe('job events on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let redis: Cluster;
  let events: RedisJobEvents;
  let directory: RedisJobDirectory;
  const prefix = `{tinyb-events-${process.pid}}`;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    redis = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
    events = new RedisJobEvents({ redis, keyPrefix: prefix, notificationCheckMs: 60_000 });
    directory = new RedisJobDirectory({ redis, keyPrefix: prefix });
  }, 60_000);
  afterAll(async () => {
    await events?.close();
    await redis?.quit().catch(() => redis.disconnect());
    await cluster?.close();
  });

  it('spreads jobs over slots by their id, with each job\'s keys in one slot', async () => {
    const ids = Array.from({ length: 8 }, () => randomUUID());
    const slots = await Promise.all(ids.map((id) => cluster.keySlot(jobEventKeys(prefix, id).events)));
    for (const [i, id] of ids.entries()) {
      const keys = jobEventKeys(prefix, id);
      expect(await cluster.keySlot(keys.status)).toBe(slots[i]);
      expect(keys.events).not.toContain(prefix);
    }
    expect(new Set(slots).size).toBeGreaterThan(1);
    // The prefix-wide indexes share the prefix's slot, which is not every job's.
    const indexSlot = await cluster.keySlot(jobIndexKeys.all(prefix));
    expect(await cluster.keySlot(jobIndexKeys.active(prefix, 'alice'))).toBe(indexSlot);
    expect(slots.some((s) => s !== indexSlot)).toBe(true);
  });

  it('publishes, replays after an id and follows live, with the listing and the active slot kept', async () => {
    const jobId = randomUUID();
    const live = collect(events.subscribe(jobId, { signal: AbortSignal.timeout(15_000) }), 4);
    const first = await events.publish(jobId, queued('alice'));
    expect(await directory.activeJobIds('alice')).toContain(jobId);
    await events.publish(jobId, { type: 'job.started', attempt: 1, workerId: 'w1' });
    const third = await events.publish(jobId, { type: 'agent.message', text: 'working' });
    await events.publish(jobId, { type: 'job.succeeded', result: { outcome: 'no_changes', filesChanged: [], summary: 'done' } });

    expect((await live).map((e) => e.event.type)).toEqual(['job.queued', 'job.started', 'agent.message', 'job.succeeded']);
    const resumed = await collect(events.subscribe(jobId, { afterId: third, signal: AbortSignal.timeout(5_000) }), 1);
    expect(resumed.map((e) => e.event.type)).toEqual(['job.succeeded']);
    expect(resumed[0]!.id > first).toBe(true);

    expect(await events.getStatus(jobId)).toMatchObject({ id: jobId, state: 'succeeded', tenant: 'alice' });
    expect((await events.listJobs({ tenant: 'alice', limit: 10 })).jobs.map((j) => j.id)).toContain(jobId);
    expect(await directory.activeJobIds('alice')).not.toContain(jobId);
  }, 30_000);

  it('lists jobs whose statuses live on different nodes, and frees slots of settled jobs', async () => {
    let nowMs = Date.now();
    const clocked = new RedisJobDirectory({ redis, keyPrefix: prefix, claimGraceMs: 1_000, now: () => new Date(nowMs) });
    const ids = Array.from({ length: 6 }, () => randomUUID());
    for (const id of ids) await events.publish(id, queued('bob'));
    const listed = await clocked.listJobs({ tenant: 'bob', limit: 10 });
    expect(listed.jobs.map((j) => j.id).sort()).toEqual([...ids].sort());

    const orphan = randomUUID();
    expect(await clocked.claimActiveSlot('carol', orphan, 1)).toBe(true);
    expect(await clocked.claimActiveSlot('carol', randomUUID(), 1)).toBe(false);
    nowMs += 2_000;
    expect(await clocked.claimActiveSlot('carol', randomUUID(), 1)).toBe(true);
  });
});
