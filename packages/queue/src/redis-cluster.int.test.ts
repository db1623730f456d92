import { UnrecoverableError, type Job } from 'bullmq';
import { Cluster } from 'ioredis';
import type { CodeJobData } from '@tinyb/contracts';
import { silentLogger } from '@tinyb/core';
import { startRedisCluster, type RedisCluster } from '@tinyb/testkit/redis-cluster';
import { AttemptRegistry } from './attempt-registry.js';
import { listenForCancelRequests, type CancelListener } from './cancel-listener.js';
import { CodeJobQueue } from './code-job-queue.js';
import { createCodeWorkers, type CodeWorkerPool } from './code-worker.js';
import { createRedisConnection } from './create-redis-connection.js';
import { RedisLease } from './redis-lease.js';
import { RedisSubmitRateLimiter } from './redis-submit-rate-limiter.js';
import { keyPrefixFor, redisTarget, type RedisClient, type RedisTarget } from './redis-target.js';
import { WorkerRegistry } from './worker-registry.js';

const sampleJob = (prompt: string): CodeJobData => ({
  repo: { owner: 'o', name: 'r', url: 'https://github.example/o/r' },
  prompt,
  agent: 'claude-code',
  draft: false,
  requestedAt: new Date().toISOString(),
});

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

// A real three-master cluster: every MULTI, Lua script and BullMQ script here fails with CROSSSLOT if two of
// its keys hash to different slots, so these tests are what proves the hash tags right.
describe('the queue on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let target: RedisTarget;
  let prefix: string;
  const opened: RedisClient[] = [];
  const connect = (failFastAfterMs?: number): RedisClient => {
    const redis = createRedisConnection(target, silentLogger, failFastAfterMs === undefined ? {} : { failFastAfterMs });
    opened.push(redis);
    return redis;
  };

  beforeAll(async () => {
    cluster = await startRedisCluster();
    target = redisTarget({ url: 'redis://127.0.0.1:6379', clusterNodes: cluster.nodes });
    prefix = keyPrefixFor(target, `tinyb-cluster-${process.pid}`);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(opened.map((r) => r.quit().catch(() => r.disconnect())));
    await cluster?.close();
  });

  it('wraps a prefix without a hash tag and refuses braces that make none', () => {
    expect(keyPrefixFor(target, 'tinyb')).toBe('{tinyb}');
    expect(keyPrefixFor(target, 'app:{tinyb}')).toBe('app:{tinyb}');
    expect(() => keyPrefixFor(target, '{}tinyb')).toThrow(/hash tag/);
    expect(() => keyPrefixFor(target, 'tinyb}')).toThrow(/hash tag/);
    expect(keyPrefixFor(redisTarget({ url: 'redis://127.0.0.1:6379' }), 'tinyb')).toBe('tinyb');
  });

  it('connects through a Cluster, and BullMQ keys of every queue share the prefix slot', async () => {
    const redis = connect();
    expect(redis).toBeInstanceOf(Cluster);
    const queue = new CodeJobQueue({ redis, prefix });
    try {
      const { jobId } = await queue.enqueue(sampleJob('slots'), { idempotencyKey: 'same-key' });
      expect(await queue.enqueue(sampleJob('slots'), { idempotencyKey: 'same-key' })).toEqual({ jobId, created: false });
      const snapshot = await queue.getJob(jobId);
      expect(snapshot).toMatchObject({ id: jobId, state: 'waiting', queue: 'code.claude-code' });
      const slot = await cluster.keySlot(`${prefix}:code.claude-code:wait`);
      expect(await cluster.keySlot(`${prefix}:code.gemini:${jobId}`)).toBe(slot);
      // The nodes really split the slots: a key without the tag lives elsewhere for at least one of these.
      const others = await Promise.all(['a', 'b', 'c', 'd'].map((k) => cluster.keySlot(k)));
      expect(others.some((s) => s !== slot)).toBe(true);
      expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
    } finally {
      await queue.close();
    }
  });

  it('runs a job on Workers sharing a Cluster connection, and a cancel reaches the running job over pub/sub', async () => {
    const api = new CodeJobQueue({ redis: connect(1_000), prefix });
    const workerRedis = connect();
    if (!(workerRedis instanceof Cluster)) throw new Error('expected a Cluster');
    const workerQueue = new CodeJobQueue({ redis: workerRedis, prefix });
    let pool: CodeWorkerPool | undefined;
    let listener: CancelListener | undefined;
    try {
      const done: string[] = [];
      let running: Job | undefined;
      let aborted = false;
      pool = createCodeWorkers(
        async (job, _token, signal) => {
          if (job.id !== undefined && (await workerQueue.isCancelRequested(job.id))) throw new UnrecoverableError('cancelled');
          if (job.data.prompt !== 'long') {
            done.push(job.data.prompt);
            return;
          }
          running = job;
          await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
          aborted = true;
          throw new UnrecoverableError('cancelled');
        },
        { connection: workerRedis, prefix, agents: ['claude-code'], concurrency: 2, stalledIntervalMs: 1_000, lockDurationMs: 4_000 },
      );
      listener = await listenForCancelRequests({ redis: workerRedis, prefix, onCancel: (id) => pool?.cancelJob(id, 'cancelled') });

      await api.enqueue(sampleJob('quick'));
      await waitFor(() => done.includes('quick'));

      const { jobId } = await api.enqueue(sampleJob('long'));
      await waitFor(() => running?.id === jobId);
      expect(await api.requestCancel(jobId)).toEqual({ removedBeforeStart: false });
      await waitFor(() => aborted);
      await waitFor(async () => (await api.getJob(jobId))?.state === 'failed');
    } finally {
      await listener?.close();
      await pool?.close();
      await api.close();
      await workerQueue.close();
    }
  }, 30_000);

  it('keeps the worker registry, attempt records, lease and submit limits on the cluster', async () => {
    const redis = connect();
    const registry = new WorkerRegistry({ redis, prefix });
    await registry.advertise({ workerId: 'w1', agents: [{ name: 'claude-code' }], sandbox: 'local', startedAt: new Date().toISOString() });
    expect(await registry.offeredAgents()).toEqual([{ name: 'claude-code', workers: 1, defaultModels: [] }]);

    const attempts = new AttemptRegistry({ redis, prefix, heartbeatTtlMs: 2_000 });
    await attempts.begin({ jobId: 'job-1', attempt: 1, workerId: 'gone', host: 'h', startedAt: new Date().toISOString() });
    expect((await attempts.orphaned()).map((a) => a.jobId)).toEqual(['job-1']);

    const lease = new RedisLease(redis, `${prefix}:sandbox-reaper`);
    expect(await lease.tryAcquire(5_000)).toBe(true);
    expect(await new RedisLease(redis, `${prefix}:sandbox-reaper`).tryAcquire(5_000)).toBe(false);
    await lease.release();
    expect(await new RedisLease(redis, `${prefix}:sandbox-reaper`).tryAcquire(5_000)).toBe(true);

    const limiter = new RedisSubmitRateLimiter({ redis, prefix, submitsPerMinute: 2 });
    expect((await limiter.consume('alice')).allowed).toBe(true);
    expect((await limiter.consume('alice')).allowed).toBe(true);
    expect((await limiter.consume('alice')).allowed).toBe(false);
  });
});
