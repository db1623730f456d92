import { randomUUID } from 'node:crypto';
import type { StoredJobEvent } from '@tinyb/core';
import { jobEventsContract } from '@tinyb/testkit/job-events-contract';
import { RedisFixture } from '@tinyb/testkit/redis';
import { jobEventKeys } from './job-event-keys.js';
import { RedisJobDirectory } from './redis-job-directory.js';
import { RedisJobEvents, type RedisJobEventsDeps } from './redis-job-events.js';

jobEventsContract('RedisJobEvents', () => {
  const fixture = new RedisFixture('events-contract');
  const redis = fixture.connect();
  const events = new RedisJobEvents({ redis, keyPrefix: fixture.prefix });
  return {
    events,
    directory: new RedisJobDirectory({ redis, keyPrefix: fixture.prefix }),
    close: async () => {
      await events.close();
      await fixture.cleanup();
    },
  };
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('RedisJobEvents on Redis', () => {
  let fixture: RedisFixture;
  let subject: RedisJobEvents;
  let guard: AbortController;

  const make = (deps: Partial<RedisJobEventsDeps> = {}): RedisJobEvents =>
    new RedisJobEvents({ redis: fixture.connect(), keyPrefix: fixture.prefix, ...deps });

  beforeEach(() => {
    fixture = new RedisFixture('events');
    guard = new AbortController();
  });
  afterEach(async () => {
    guard.abort();
    await subject.close();
    await fixture.cleanup();
  });

  const follow = (jobId: string, seen: StoredJobEvent[], signal = guard.signal): Promise<void> =>
    (async () => {
      for await (const e of subject.subscribe(jobId, { signal })) seen.push(e);
    })();

  it('writes the event, its status fields and expiries in one go, and keeps a finished job for retentionMs', async () => {
    subject = make({ retentionMs: 60_000, activeTtlMs: 3_600_000 });
    const redis = fixture.connect();
    const jobId = randomUUID();
    const keys = jobEventKeys(fixture.prefix, jobId);
    expect(keys.events).toBe(`${fixture.prefix}:job:{${jobId}}:events`);

    await subject.publish(jobId, { type: 'job.queued', repoUrl: 'https://github.example/o/r', agent: 'gemini', draft: true });
    expect(await redis.hget(keys.status, 'state')).toBe('"queued"');
    expect(await redis.hget(keys.status, 'agent')).toBe('"gemini"');
    const activeTtl = await redis.pttl(keys.events);
    expect(activeTtl).toBeGreaterThan(60_000);
    expect(activeTtl).toBeLessThanOrEqual(3_600_000);

    await subject.publish(jobId, { type: 'job.cancelled' });
    for (const key of [keys.events, keys.status]) {
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
    expect(await redis.xlen(keys.events)).toBe(2);
  });

  it('caps a job stream at about maxLen entries', async () => {
    subject = make({ maxLen: 10 });
    const jobId = randomUUID();
    for (let i = 0; i < 400; i++) await subject.publish(jobId, { type: 'agent.message', text: `m${i}` });
    const length = await fixture.connect().xlen(jobEventKeys(fixture.prefix, jobId).events);
    // `~` trims whole radix-tree nodes (100 entries by default), never below maxLen.
    expect(length).toBeGreaterThanOrEqual(10);
    expect(length).toBeLessThan(250);
  });

  it('delivers live events through the notification, long before the safety re-read', async () => {
    subject = make({ pollIntervalMs: 60_000 });
    const jobId = randomUUID();
    const seen: StoredJobEvent[] = [];
    const done = follow(jobId, seen);
    await waitFor(async () => (await fixture.connect().pubsub('NUMSUB', jobEventKeys(fixture.prefix, jobId).notify))[1] === 1);
    const started = Date.now();
    await subject.publish(jobId, { type: 'agent.message', text: 'now' });
    await waitFor(() => seen.length === 1, 2_000);
    expect(Date.now() - started).toBeLessThan(1_000);
    await subject.publish(jobId, { type: 'job.cancelled' });
    await done;
    expect(seen.map((e) => e.event.type)).toEqual(['agent.message', 'job.cancelled']);
  });

  it('finds an event whose notification was lost on the next safety re-read', async () => {
    subject = make({ pollIntervalMs: 100 });
    const redis = fixture.connect();
    const jobId = randomUUID();
    const seen: StoredJobEvent[] = [];
    const done = follow(jobId, seen);
    await sleep(50);
    // Appended behind the publisher's back: no PUBLISH, as if the notification had been dropped.
    const event = { type: 'job.succeeded', jobId, at: new Date().toISOString(), result: { outcome: 'no_changes', filesChanged: [], summary: '' } };
    await redis.xadd(jobEventKeys(fixture.prefix, jobId).events, '*', 'data', JSON.stringify(event));
    await done;
    expect(seen.map((e) => e.event.type)).toEqual(['job.succeeded']);
  });

  it('skips stream entries it cannot read instead of wedging the followers', async () => {
    subject = make();
    const redis = fixture.connect();
    const jobId = randomUUID();
    const key = jobEventKeys(fixture.prefix, jobId).events;
    await subject.publish(jobId, { type: 'agent.message', text: 'before' });
    await redis.xadd(key, '*', 'data', '{not json');
    await redis.xadd(key, '*', 'data', JSON.stringify({ type: 'agent.teleported', jobId, at: 'x' }));
    await subject.publish(jobId, { type: 'job.cancelled' });
    const seen: StoredJobEvent[] = [];
    await follow(jobId, seen);
    expect(seen.map((e) => e.event.type)).toEqual(['agent.message', 'job.cancelled']);
  });

  it('reads a long history in pages', async () => {
    subject = make({ readBatch: 7 });
    const jobId = randomUUID();
    for (let i = 0; i < 30; i++) await subject.publish(jobId, { type: 'agent.message', text: `m${i}` });
    await subject.publish(jobId, { type: 'job.cancelled' });
    const seen: StoredJobEvent[] = [];
    await follow(jobId, seen);
    expect(seen).toHaveLength(31);
  });

  it('shares one subscription per channel among followers and releases it when the last one leaves', async () => {
    subject = make({ pollIntervalMs: 60_000 });
    const admin = fixture.connect();
    const jobId = randomUUID();
    const channel = jobEventKeys(fixture.prefix, jobId).notify;
    const numsub = async (): Promise<unknown> => (await admin.pubsub('NUMSUB', channel))[1];
    const first = new AbortController();
    const followers = [follow(jobId, [], first.signal), follow(jobId, []), follow(jobId, [])];
    await waitFor(async () => (await numsub()) === 1);
    first.abort();
    await followers[0];
    await sleep(50);
    expect(await numsub()).toBe(1);
    await subject.publish(jobId, { type: 'job.cancelled' });
    await Promise.all(followers);
    await waitFor(async () => (await numsub()) === 0);
  });

  it('ends live followers and closes the subscriber it opened on close()', async () => {
    subject = make({ pollIntervalMs: 60_000 });
    const seen: StoredJobEvent[] = [];
    const jobId = randomUUID();
    const done = follow(jobId, seen);
    await waitFor(async () => (await fixture.connect().pubsub('NUMSUB', jobEventKeys(fixture.prefix, jobId).notify))[1] === 1);
    await subject.close();
    await done;
    expect(seen).toEqual([]);
  });

  it('leaves a subscriber connection it was handed open', async () => {
    const subscriber = fixture.connect();
    subject = make({ subscriber });
    const jobId = randomUUID();
    await subject.publish(jobId, { type: 'job.cancelled' });
    await follow(jobId, []);
    await subject.close();
    expect(subscriber.status).toBe('ready');
  });
});
