import { randomUUID } from 'node:crypto';
import type { StoredJobEvent } from '@tinyb/core';
import { jobEventsContract } from '@tinyb/testkit/job-events-contract';
import { connectRedis, RedisFixture, testRedisUrl } from '@tinyb/testkit/redis';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
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

  /** Follows a job and waits until the follower is live (its notify channel has a subscriber). */
  const followLive = async (jobId: string): Promise<{ seen: StoredJobEvent[]; done: Promise<void> }> => {
    const seen: StoredJobEvent[] = [];
    const done = follow(jobId, seen);
    const admin = fixture.connect();
    await waitFor(async () => (await admin.pubsub('NUMSUB', jobEventKeys(fixture.prefix, jobId).notify))[1] === 1);
    return { seen, done };
  };

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

  it('delivers live events through the notification, long before the next notification check', async () => {
    subject = make({ notificationCheckMs: 60_000 });
    const jobId = randomUUID();
    const { seen, done } = await followLive(jobId);
    const started = Date.now();
    await subject.publish(jobId, { type: 'agent.message', text: 'now' });
    await waitFor(() => seen.length === 1, 2_000);
    expect(Date.now() - started).toBeLessThan(1_000);
    await subject.publish(jobId, { type: 'job.cancelled' });
    await done;
    expect(seen.map((e) => e.event.type)).toEqual(['agent.message', 'job.cancelled']);
  });

  const succeeded = (jobId: string) =>
    ({ type: 'job.succeeded', result: { outcome: 'no_changes', filesChanged: [], summary: '' } }) as const satisfies Parameters<RedisJobEvents['publish']>[1];

  it('notices a subscriber that went silent without closing, reads what it missed and reconnects', async () => {
    // The subscriber reaches Redis through a proxy that can stop passing Redis's bytes on (a half-open path:
    // nothing closes, nothing arrives); everything else talks to Redis directly.
    const proxy = await FreezableProxy.start(new URL(testRedisUrl()));
    try {
      subject = make({ subscriber: () => fixture.track(connectRedis({ url: proxy.url })), notificationCheckMs: 200 });
      const jobId = randomUUID();
      const { seen, done } = await followLive(jobId);
      proxy.freeze();
      await subject.publish(jobId, succeeded(jobId));
      await done;
      expect(seen.map((e) => e.event.type)).toEqual(['job.succeeded']);
      // The hub dropped the silent connection and subscribes again on a new one.
      await waitFor(() => proxy.connections > 1);
      const second = randomUUID();
      const after = await followLive(second);
      const startedAt = Date.now();
      await subject.publish(second, succeeded(second));
      await after.done;
      expect(Date.now() - startedAt).toBeLessThan(150);
    } finally {
      // The subscriber first: closed the other way round, it would keep reconnecting to a proxy that is gone.
      await subject.close();
      proxy.close();
    }
  });

  it('without the check, the same silence loses the announcement (what the check is for)', async () => {
    const proxy = await FreezableProxy.start(new URL(testRedisUrl()));
    try {
      subject = make({ subscriber: () => fixture.track(connectRedis({ url: proxy.url })), notificationCheckMs: 60_000 });
      const jobId = randomUUID();
      const { seen } = await followLive(jobId);
      proxy.freeze();
      await subject.publish(jobId, succeeded(jobId));
      await sleep(1_500);
      expect(seen).toEqual([]);
    } finally {
      // The subscriber first: closed the other way round, it would keep reconnecting to a proxy that is gone.
      await subject.close();
      proxy.close();
    }
  });

  it('reads nothing while notifications flow: the check is one message a round, not a read per job', async () => {
    subject = make({ notificationCheckMs: 50 });
    const monitor = await fixture.connect().monitor();
    const reads: string[] = [];
    const checks: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() === 'xrange' && args[1]?.startsWith(fixture.prefix)) reads.push(args[1]);
      if (args[0]?.toLowerCase() === 'publish' && args[1]?.startsWith(`${fixture.prefix}:events:check:`)) checks.push(args[1]);
    });
    try {
      const jobs = [randomUUID(), randomUUID(), randomUUID()];
      await Promise.all(jobs.map(followLive));
      // Each job is read when its follower attaches, and once more after the subscriber's first connect (see
      // NotificationHub's onReady); after that, nothing while ~10 check rounds go by.
      await waitFor(() => reads.length >= 2 * jobs.length);
      await sleep(100);
      const settled = reads.length;
      const checksBefore = checks.length;
      await sleep(600);
      expect(reads.length - settled).toBe(0);
      expect(checks.length - checksBefore).toBeGreaterThanOrEqual(5);
    } finally {
      monitor.disconnect();
    }
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
    subject = make({ notificationCheckMs: 60_000 });
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
    subject = make({ notificationCheckMs: 60_000 });
    const { seen, done } = await followLive(randomUUID());
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

/**
 * A TCP proxy to Redis whose `freeze()` stops passing Redis's bytes to the clients already connected, without
 * closing anything: the client's connection looks alive and receives nothing. New connections pass again.
 */
class FreezableProxy {
  connections = 0;
  private readonly frozen = new Set<Socket>();
  private readonly live = new Set<Socket>();

  private constructor(private readonly server: Server, readonly url: string) {}

  static async start(target: URL): Promise<FreezableProxy> {
    let proxy: FreezableProxy | undefined;
    const server = createServer((client) => {
      const upstream = createConnection({ host: target.hostname, port: Number(target.port || 6379) });
      proxy!.connections++;
      proxy!.live.add(client).add(upstream);
      client.on('data', (chunk) => upstream.write(chunk));
      upstream.on('data', (chunk) => {
        if (!proxy!.frozen.has(client)) client.write(chunk);
      });
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const url = new URL(target.href);
    url.hostname = '127.0.0.1';
    url.port = String(port);
    proxy = new FreezableProxy(server, url.href);
    return proxy;
  }

  /** From now on, clients connected so far get nothing from Redis. */
  freeze(): void {
    for (const socket of this.live) this.frozen.add(socket);
  }

  close(): void {
    for (const socket of this.live) socket.destroy();
    this.server.close();
  }
}
