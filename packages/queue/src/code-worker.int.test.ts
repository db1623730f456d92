import { Queue, type Job } from 'bullmq';
import { CODE_JOBS_QUEUE, type CodeJobData } from '@tinyb/contracts';
import { RedisFixture, testRedisUrl } from '@tinyb/testkit/redis';
import { CODE_JOB_NAME, CodeJobQueue } from './code-job-queue.js';
import { createCodeWorkers, type CodeJobProcessor, type CodeWorkerPool } from './code-worker.js';
import { redisConnectionOptions } from './redis-connection-options.js';

const jobFor = (agent: string, prompt = 'p'): CodeJobData => ({
  repo: { owner: 'o', name: 'r', url: 'https://github.example/o/r' },
  prompt,
  agent,
  draft: false,
  requestedAt: new Date().toISOString(),
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

/** Queues per agent, seen from both sides: the API's CodeJobQueue and workers' pools, on a real Redis. */
describe('code jobs in one queue per agent', () => {
  let fixture: RedisFixture;
  let api: CodeJobQueue;
  const pools: CodeWorkerPool[] = [];

  beforeEach(() => {
    fixture = new RedisFixture('agent-queues');
    api = new CodeJobQueue({ redis: fixture.connect(), prefix: fixture.prefix, agents: ['claude-code', 'gemini'] });
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()));
    await api.close();
    await fixture.cleanup();
  });

  const startPool = (agents: string[], processor: CodeJobProcessor, concurrency = 1): CodeWorkerPool => {
    const pool = createCodeWorkers(processor, {
      connection: redisConnectionOptions(testRedisUrl()),
      prefix: fixture.prefix,
      agents,
      concurrency,
    });
    pools.push(pool);
    return pool;
  };

  it('puts each job in its agent\'s queue and refuses an agent it does not know, listing the known ones', async () => {
    const claude = await api.enqueue(jobFor('claude-code'));
    const gemini = await api.enqueue(jobFor('gemini'));
    expect(await api.getJob(claude.jobId)).toMatchObject({ queue: 'code.claude-code', state: 'waiting' });
    expect(await api.getJob(gemini.jobId)).toMatchObject({ queue: 'code.gemini', state: 'waiting' });
    expect(api.queues.map((q) => q.name)).toEqual(['code.claude-code', 'code.gemini', CODE_JOBS_QUEUE]);
    await expect(api.enqueue(jobFor('openai'), { idempotencyKey: 'k' })).rejects.toMatchObject({
      code: 'unknown_agent',
      message: expect.stringContaining('known: claude-code, gemini'),
    });
    // The refused job claimed no idempotency key: a retry for a known agent creates its job.
    expect((await api.enqueue(jobFor('gemini'), { idempotencyKey: 'k' })).created).toBe(true);
  });

  it('runs each job only on a worker that has its agent', async () => {
    const ran: { pool: string; agent: string }[] = [];
    const processorOf = (pool: string): CodeJobProcessor => async (job) => {
      ran.push({ pool, agent: (job.data as CodeJobData).agent });
    };
    startPool(['claude-code'], processorOf('A'));
    startPool(['gemini'], processorOf('B'));
    for (let i = 0; i < 4; i++) {
      await api.enqueue(jobFor('claude-code'));
      await api.enqueue(jobFor('gemini'));
    }
    await waitFor(() => ran.length === 8);
    expect(ran.filter((r) => r.agent === 'claude-code').every((r) => r.pool === 'A')).toBe(true);
    expect(ran.filter((r) => r.agent === 'gemini').every((r) => r.pool === 'B')).toBe(true);
  });

  it('bounds the process\'s jobs by its concurrency over all its queues, and leaves the rest queued for others', async () => {
    let running = 0;
    let most = 0;
    const done: string[] = [];
    const slow: CodeJobProcessor = async (job) => {
      running += 1;
      most = Math.max(most, running);
      await sleep(150);
      running -= 1;
      done.push(job.id!);
    };
    const pool = startPool(['claude-code', 'gemini'], slow, 2);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await api.enqueue(jobFor('claude-code'))).jobId, (await api.enqueue(jobFor('gemini'))).jobId);
    }
    // While two run, the others are still waiting in Redis (not held active by a process with no free slot).
    await waitFor(() => running === 2);
    const states = await Promise.all(ids.map(async (id) => (await api.getJob(id))?.state));
    expect(states.filter((s) => s === 'active')).toHaveLength(2);
    expect(pool.slots.inUse).toBe(2);
    await waitFor(() => done.length === 6);
    expect(most).toBe(2);
    expect(new Set(done)).toEqual(new Set(ids));
  });

  it('runs a job added the old way to the legacy single queue, once, on a worker that has its agent', async () => {
    const legacy = new Queue(CODE_JOBS_QUEUE, { connection: fixture.connect(), prefix: fixture.prefix });
    try {
      // What the API did before queues were per agent.
      await legacy.add(CODE_JOB_NAME, jobFor('gemini', 'old job'), { jobId: 'legacy-1', attempts: 2 });
      await legacy.add(CODE_JOB_NAME, { not: 'a code job' }, { jobId: 'legacy-bad' });
      const ran: { pool: string; id: string; attempts: number | undefined }[] = [];
      const refused: string[] = [];
      const processorOf = (pool: string): CodeJobProcessor => async (job: Job) => {
        ran.push({ pool, id: job.id!, attempts: job.opts.attempts });
      };
      // Either pool's forwarder may take either legacy job: both report what they refuse.
      for (const [name, agents] of [['A', ['claude-code']], ['B', ['gemini']]] as const) {
        pools.push(
          createCodeWorkers(processorOf(name), {
            connection: redisConnectionOptions(testRedisUrl()),
            prefix: fixture.prefix,
            agents,
            onLegacyJobRefused: (id) => refused.push(id),
          }),
        );
      }
      await waitFor(() => ran.length === 1 && refused.length === 1);
      await sleep(200);
      expect(ran).toEqual([{ pool: 'B', id: 'legacy-1', attempts: 2 }]);
      expect(refused).toEqual(['legacy-bad']);
      expect(await api.getJob('legacy-1')).toMatchObject({ queue: 'code.gemini', state: 'completed' });
    } finally {
      await legacy.close();
    }
  });

  it('cancels a job waiting in its agent queue: it is removed and never runs', async () => {
    const ran: string[] = [];
    const { jobId } = await api.enqueue(jobFor('gemini', 'doomed'));
    expect(await api.requestCancel(jobId)).toEqual({ removedBeforeStart: true });
    expect(await api.getJob(jobId)).toBeNull();
    startPool(['gemini'], async (job) => {
      ran.push(job.id!);
    });
    const sentinel = await api.enqueue(jobFor('gemini', 'sentinel'));
    await waitFor(() => ran.length === 1);
    expect(ran).toEqual([sentinel.jobId]);
  });

  it('exports job counts of every queue, each family once, with a queue label', async () => {
    await api.enqueue(jobFor('gemini'));
    await api.enqueue(jobFor('gemini'));
    const metrics = await api.exportMetrics();
    expect(metrics).toContain('bullmq_job_count{queue="code.gemini", state="waiting"} 2');
    expect(metrics).toContain('bullmq_job_count{queue="code.claude-code", state="waiting"} 0');
    expect(metrics).toContain(`bullmq_job_count{queue="${CODE_JOBS_QUEUE}", state="waiting"} 0`);
    expect(metrics.match(/# TYPE bullmq_job_count gauge/g)).toHaveLength(1);
    expect(await api.getJobCounts('waiting')).toEqual({ waiting: 2 });
  });
});
