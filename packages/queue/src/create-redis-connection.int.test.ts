import type { CodeJobData } from '@tinyb/contracts';
import { silentLogger } from '@tinyb/core';
import { closeRedis } from '@tinyb/testkit/redis';
import { startRedisServer, type RedisServer } from '@tinyb/testkit/redis-server';
import type { Redis } from 'ioredis';
import { CodeJobQueue } from './code-job-queue.js';
import { createRedisConnection } from './create-redis-connection.js';
import { isRedisUnavailableError } from './redis-unavailable.js';

const sampleJob = (): CodeJobData => ({
  repo: { owner: 'o', name: 'r', url: 'https://github.example/o/r' },
  prompt: 'add a README',
  agent: 'claude-code',
  draft: false,
  requestedAt: new Date().toISOString(),
});

/** How long `promise` takes to settle, and with what. */
async function timed<T>(promise: Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const started = Date.now();
  try {
    const value = await promise;
    return { ms: Date.now() - started, value };
  } catch (error) {
    return { ms: Date.now() - started, error };
  }
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A private redis-server per test file: these tests stop and pause it. */
describe('createRedisConnection while Redis is away', () => {
  let server: RedisServer;
  let fast: Redis;
  let patient: Redis;
  let queue: CodeJobQueue;

  beforeEach(async () => {
    server = await startRedisServer();
    fast = createRedisConnection(server.url, silentLogger, { failFastAfterMs: 300 });
    patient = createRedisConnection(server.url, silentLogger);
    queue = new CodeJobQueue({ redis: fast, prefix: 'outage' });
    await until(async () => (await fast.ping()) === 'PONG' && (await patient.ping()) === 'PONG', 5_000);
  });
  afterEach(async () => {
    server.resume();
    await queue.close().catch(() => undefined);
    await closeRedis(fast, patient);
    await server.close();
  });

  it('fails fast on a stopped Redis, waits on the patient connection, and both recover with the data when it returns', async () => {
    const before = await queue.enqueue(sampleJob(), { idempotencyKey: 'k1' });
    await server.stop();

    // The fail-fast connection and the BullMQ Queue on it answer at once, with errors we recognise.
    const attempts: Promise<unknown>[] = [fast.get('outage:x'), queue.enqueue(sampleJob()), queue.enqueue(sampleJob(), { idempotencyKey: 'k2' }), queue.getJob(before.jobId), queue.exportMetrics()];
    for (const attempt of attempts) {
      const { ms, error } = await timed(attempt);
      expect(isRedisUnavailableError(error)).toBe(true);
      expect(ms).toBeLessThan(200);
    }
    expect(await queue.isReady(500)).toBe(false);

    // The patient connection (a worker's) keeps its writes, in order, until Redis is back.
    const settled: string[] = [];
    const writes = [1, 2, 3].map((n) => patient.rpush('outage:order', String(n)).then(() => settled.push(`w${n}`)));
    await new Promise((r) => setTimeout(r, 500));
    expect(settled).toEqual([]);

    await server.start();
    await Promise.all(writes);
    expect(await patient.lrange('outage:order', 0, -1)).toEqual(['1', '2', '3']);
    await until(async () => (await fast.ping()) === 'PONG', 3_000);
    // AOF kept what was written before the stop; the queue works again without a restart.
    expect(await queue.getJob(before.jobId)).toMatchObject({ id: before.jobId, state: 'waiting' });
    expect(await queue.enqueue(sampleJob(), { idempotencyKey: 'k1' })).toEqual({ jobId: before.jobId, created: false });
    expect((await queue.enqueue(sampleJob())).created).toBe(true);
  });

  it('times out a command on a Redis that is connected but silent', async () => {
    server.pause();
    const { ms, error } = await timed(fast.get('outage:x'));
    expect(isRedisUnavailableError(error)).toBe(true);
    expect(String(error)).toContain('Command timed out');
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(1_000);
    server.resume();
    expect(await fast.ping()).toBe('PONG');
  });

  it('does not take errors Redis answered for outages', async () => {
    await fast.set('outage:string', 'x');
    const { error } = await timed(fast.lpush('outage:string', 'y'));
    expect(String(error)).toContain('WRONGTYPE');
    expect(isRedisUnavailableError(error)).toBe(false);
    expect(isRedisUnavailableError(new Error('boom'))).toBe(false);
  });
});
