import { Socket } from 'node:net';
import type { CodeJobData, NewJobEvent } from '@tinyb/contracts';
import { RedisJobEvents, jobEventKeys } from '@tinyb/events';
import { CodeJobQueue } from '@tinyb/queue';
import { RedisFixture } from '@tinyb/testkit/redis';
type Redis = ReturnType<RedisFixture['connect']>;

const data = (): CodeJobData => ({
  repo: { owner: 'o', name: 'r', url: 'https://github.com/o/r' },
  prompt: 'add a README',
  agent: 'claude-code',
  draft: false,
  requestedAt: new Date().toISOString(),
});
const queued: NewJobEvent = { type: 'job.queued', repoUrl: 'https://github.com/o/r', agent: 'claude-code', draft: false, tenant: 't1' };

/**
 * The one-round-trip enqueue (idempotency key, job.queued with status and indexes, BullMQ add in one script)
 * against a real Redis, with failures injected into each part: whatever fails, a job is either queued and
 * announced, or neither.
 */
describe('one-round-trip enqueue', () => {
  let fixture: RedisFixture;
  let redis: Redis;
  let queue: CodeJobQueue;
  let events: RedisJobEvents;

  beforeEach(() => {
    fixture = new RedisFixture('enqueue-atomic');
    redis = fixture.connect();
    queue = new CodeJobQueue({ redis, prefix: fixture.prefix });
    events = new RedisJobEvents({ redis, keyPrefix: fixture.prefix, subscriber: () => fixture.track(redis.duplicate()) });
  });
  afterEach(async () => {
    await events.close();
    await queue.close();
    await fixture.cleanup();
  });

  const enqueue = (opts: { jobId?: string; idempotencyKey?: string } = {}) => queue.enqueue(data(), { ...opts, announce: { via: events, event: queued } });
  const queuedJob = (jobId: string) => queue.queueFor('claude-code').getJob(jobId);
  const announced = async (jobId: string) => (await redis.exists(jobEventKeys(fixture.prefix, jobId).events)) === 1;

  /**
   * MONITOR reports every client of the server (other test runs share it): only the commands of connections
   * that sent something naming this test's keys count. Commands a script runs are reported too, with source 'lua'.
   */
  const watchOurCommands = async () => {
    const monitor = await fixture.connect().monitor();
    const received: Array<{ source: string; args: string[] }> = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (!source.includes('lua')) received.push({ source, args: args.map(String) });
    });
    const seen = () => {
      const ours = new Set(received.filter((c) => c.args.some((a) => a.includes(fixture.prefix))).map((c) => c.source));
      return received.filter((c) => ours.has(c.source)).map((c) => (c.args[0] ?? '').toLowerCase());
    };
    return { monitor, seen };
  };

  it('queues and announces in one round trip (one script on the connection)', async () => {
    // Warm-up: ioredis loads the script once per connection (EVAL after a NOSCRIPT).
    await enqueue();
    await new Promise((r) => setTimeout(r, 200));
    await enqueue();
    const { monitor, seen } = await watchOurCommands();
    try {
      const { jobId, created } = await enqueue({ idempotencyKey: 'k1' });
      expect(created).toBe(true);
      await new Promise((r) => setTimeout(r, 100));
      // Everything sent for this submit is one script: the key, BullMQ's add and the event.
      expect(seen()).toEqual(['evalsha']);
      expect(await queuedJob(jobId)).toBeDefined();
      expect(await events.getStatus(jobId)).toMatchObject({ id: jobId, state: 'queued', tenant: 't1' });
      expect((await events.listJobs({ limit: 10, tenant: 't1' })).jobs.map((j) => j.id)).toContain(jobId);
    } finally {
      monitor.disconnect();
    }
  });

  it('sends the submits of one event-loop turn in one socket write, each still its own script', async () => {
    // Warm-up as above: the script loaded.
    await enqueue();
    await new Promise((r) => setTimeout(r, 200));
    await enqueue();
    const { monitor, seen } = await watchOurCommands();
    // Every write that reaches a socket, by socket: ioredis writes each command with its own socket.write.
    const writes = new Map<unknown, number>();
    const count = function (this: unknown) {
      writes.set(this, (writes.get(this) ?? 0) + 1);
    };
    const originalWrite = Socket.prototype._write;
    const originalWritev = Socket.prototype._writev;
    Socket.prototype._write = function (this: Socket, ...args: Parameters<Socket['_write']>) {
      count.call(this);
      return originalWrite.apply(this, args);
    };
    Socket.prototype._writev = function (this: Socket, ...args: Parameters<NonNullable<Socket['_writev']>>) {
      count.call(this);
      return originalWritev?.apply(this, args);
    };
    try {
      const results = await Promise.all(Array.from({ length: 10 }, () => enqueue()));
      expect(results.every((r) => r.created)).toBe(true);
      // Ten scripts went out; no socket took more than one write for them (one per submit without the batch).
      expect(Math.max(...writes.values())).toBe(1);
      await new Promise((r) => setTimeout(r, 100));
      expect(seen()).toEqual(Array.from({ length: 10 }, () => 'evalsha'));
      for (const { jobId } of results) expect(await events.getStatus(jobId)).toMatchObject({ id: jobId, state: 'queued' });
    } finally {
      Socket.prototype._write = originalWrite;
      Socket.prototype._writev = originalWritev;
      monitor.disconnect();
    }
  });

  it('replays an idempotency key without queueing or announcing anything, even when requests race', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => enqueue({ idempotencyKey: 'same' })));
    const ids = new Set(results.map((r) => r.jobId));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
    // The refused ones left no job hash behind, and only one job has events.
    const leftovers = await redis.keys(`${fixture.prefix}:code.claude-code:*`);
    const jobHashes = leftovers.filter((k) => /code\.claude-code:[0-9a-f-]{36}$/.test(k));
    expect(jobHashes).toHaveLength(1);
    expect(await redis.keys(`${fixture.prefix.replace(/[{}]/g, '')}:job:*:events`)).toHaveLength(1);
  });

  it('a failed add leaves no announcement and frees the idempotency key', async () => {
    // BullMQ's job counter of the queue made unusable: its add fails inside the script.
    await queue.queueFor('claude-code').waitUntilReady();
    const counter = queue.queueFor('claude-code').toKey('id');
    await redis.hset(counter, 'broken', '1');
    const jobId = 'job-add-fails';
    await expect(enqueue({ jobId, idempotencyKey: 'k-add' })).rejects.toMatchObject({ code: 'internal' });
    expect(await queuedJob(jobId)).toBeUndefined();
    expect(await announced(jobId)).toBe(false);
    expect(await events.getStatus(jobId)).toBeNull();
    expect((await events.listJobs({ limit: 10 })).jobs).toEqual([]);
    // The client's retry, once the fault is gone, creates the job.
    await redis.del(counter);
    await expect(enqueue({ jobId, idempotencyKey: 'k-add' })).resolves.toEqual({ jobId, created: true });
    expect(await queuedJob(jobId)).toBeDefined();
    expect(await announced(jobId)).toBe(true);
  });

  it('an event log that cannot take job.queued leaves no queued job', async () => {
    const jobId = 'job-announce-fails';
    await redis.set(jobEventKeys(fixture.prefix, jobId).events, 'not a stream');
    await expect(enqueue({ jobId, idempotencyKey: 'k-ann' })).rejects.toMatchObject({ code: 'internal' });
    expect(await queuedJob(jobId)).toBeUndefined();
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 0 });
    expect(await redis.exists(queue.queueFor('claude-code').toKey(jobId))).toBe(0);
    expect(await events.getStatus(jobId)).toBeNull();
  });

  it('an index key of the wrong type refuses the submit before anything is written', async () => {
    // The tenant's job index (a sorted set) made a string: job.queued's index write would fail after the add.
    const jobId = 'job-index-broken';
    const staged = events.stageQueued(jobId, queued);
    const tenantIndex = staged?.keys.find((k) => k.endsWith(':tenant:t1:jobs'));
    expect(tenantIndex).toBeDefined();
    await redis.set(tenantIndex ?? '', 'not a sorted set');
    await expect(enqueue({ jobId, idempotencyKey: 'k-index' })).rejects.toMatchObject({ code: 'internal' });
    expect(await queuedJob(jobId)).toBeUndefined();
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 0 });
    expect(await announced(jobId)).toBe(false);
    expect(await events.getStatus(jobId)).toBeNull();
    // The key was not taken: once the fault is gone, the client's retry creates the job.
    await redis.del(tenantIndex ?? '');
    await expect(enqueue({ jobId, idempotencyKey: 'k-index' })).resolves.toEqual({ jobId, created: true });
    expect(await announced(jobId)).toBe(true);
  });

  it('a caller-chosen id that is already a job is not announced twice', async () => {
    await expect(enqueue({ jobId: 'job-twice' })).resolves.toEqual({ jobId: 'job-twice', created: true });
    await expect(enqueue({ jobId: 'job-twice' })).resolves.toEqual({ jobId: 'job-twice', created: false });
    expect(await redis.xlen(jobEventKeys(fixture.prefix, 'job-twice').events)).toBe(1);
  });

  it('with a beforeAdd hook (admission) the key is claimed first and a replay never reaches the hook', async () => {
    const hooked: string[] = [];
    const opts = { idempotencyKey: 'k-hook', announce: { via: events, event: queued }, beforeAdd: async (id: string) => void hooked.push(id) };
    const first = await queue.enqueue(data(), opts);
    const again = await queue.enqueue(data(), opts);
    expect(again).toEqual({ jobId: first.jobId, created: false });
    expect(hooked).toEqual([first.jobId]);
    expect(await announced(first.jobId)).toBe(true);
    // A refusing hook (rate limit) leaves nothing, and the key free.
    const refused = queue.enqueue(data(), { ...opts, idempotencyKey: 'k-refused', beforeAdd: async () => Promise.reject(new Error('over the limit')) });
    await expect(refused).rejects.toThrow('over the limit');
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
  });
});
