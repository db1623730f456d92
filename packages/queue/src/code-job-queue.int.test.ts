import type { CodeJobData } from '@tinyb/contracts';
import { RedisFixture, testRedisUrl } from '@tinyb/testkit/redis';
import { Redis } from 'ioredis';
import { CodeJobQueue } from './code-job-queue.js';
import { redisConnectionOptions } from './redis-connection-options.js';

const sampleJob = (prompt = 'add a README'): CodeJobData => ({
  repo: { owner: 'o', name: 'r', url: 'https://github.example/o/r' },
  prompt,
  agent: 'claude-code',
  draft: false,
  requestedAt: new Date().toISOString(),
});

describe('CodeJobQueue', () => {
  let fixture: RedisFixture;
  let queue: CodeJobQueue;

  beforeEach(() => {
    fixture = new RedisFixture('queue');
    queue = new CodeJobQueue({ redis: fixture.connect(), prefix: fixture.prefix });
  });
  afterEach(async () => {
    await queue.close();
    await fixture.cleanup({ dbs: [3] });
  });

  it('enqueues a waiting job with a generated id and the default retry and retention policy', async () => {
    const { jobId, created } = await queue.enqueue(sampleJob());
    expect(created).toBe(true);
    expect(jobId).toMatch(/^[0-9a-f-]{36}$/);
    const job = await queue.queueFor('claude-code').getJob(jobId);
    expect(job?.name).toBe('code');
    expect(job?.opts).toMatchObject({
      attempts: 3,
      backoff: { type: 'exponential', delay: 15_000 },
      removeOnComplete: { age: 86_400 },
      removeOnFail: { age: 604_800 },
    });
    expect(await queue.getJob(jobId)).toMatchObject({ id: jobId, state: 'waiting', attemptsMade: 0, data: expect.objectContaining({ prompt: 'add a README' }) });
    expect(await queue.getJob('no-such-job')).toBeNull();
  });

  it('maps one idempotency key to one job, even when requests race', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => queue.enqueue(sampleJob(), { idempotencyKey: 'client-key-1' })));
    const ids = new Set(results.map((r) => r.jobId));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const again = await queue.enqueue(sampleJob(), { idempotencyKey: 'client-key-1' });
    expect(again).toEqual({ jobId: results[0]?.jobId, created: false });
    const other = await queue.enqueue(sampleJob(), { idempotencyKey: 'client-key-2' });
    expect(other.created).toBe(true);
    expect(other.jobId).not.toBe(again.jobId);
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 2 });
    // The raw key is not stored: it may be something the client considers private.
    const admin = fixture.connect();
    // A whole SCAN: one call sees only part of a Redis that other tests share.
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, page] = await admin.scan(cursor, 'MATCH', `${fixture.prefix}:idem:*`, 'COUNT', 1000);
      keys.push(...page);
      cursor = next;
    } while (cursor !== '0');
    expect(keys).toHaveLength(2);
    expect(keys.join()).not.toContain('client-key');
  });

  it('takes a caller-chosen job id, and refuses ids BullMQ or the event keys cannot hold', async () => {
    await expect(queue.enqueue(sampleJob(), { jobId: 'job_abc-1' })).resolves.toEqual({ jobId: 'job_abc-1', created: true });
    for (const jobId of ['123', 'a:b', 'a{b}', '']) {
      await expect(queue.enqueue(sampleJob(), { jobId })).rejects.toMatchObject({ code: 'invalid_request' });
    }
  });

  it('answers readiness with a ping, and false (quickly) when Redis is unreachable', async () => {
    expect(await queue.isReady()).toBe(true);
    const nowhere = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, maxRetriesPerRequest: null, retryStrategy: () => 50 });
    const unreachable = new CodeJobQueue({ redis: nowhere, prefix: fixture.prefix });
    try {
      const started = Date.now();
      expect(await unreachable.isReady(200)).toBe(false);
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      nowhere.disconnect();
      await unreachable.close().catch(() => undefined);
    }
  });

  it('honours the database index of REDIS_URL', async () => {
    const url = new URL(testRedisUrl());
    url.pathname = '/3';
    const inDb3 = fixture.track(new Redis(redisConnectionOptions(url.toString())));
    const queueInDb3 = new CodeJobQueue({ redis: inDb3, prefix: fixture.prefix });
    try {
      const { jobId } = await queueInDb3.enqueue(sampleJob());
      const db3 = fixture.connect({ db: 3 });
      const db0 = fixture.connect({ db: 0 });
      const pattern = `${fixture.prefix}:code.claude-code:${jobId}`;
      expect(await db3.exists(pattern)).toBe(1);
      expect(await db0.exists(pattern)).toBe(0);
    } finally {
      await queueInDb3.close();
    }
  });
});
