import { UnrecoverableError, type Job } from 'bullmq';
import type { CodeJobData } from '@tinyb/contracts';
import { RedisFixture, testRedisUrl } from '@tinyb/testkit/redis';
import { listenForCancelRequests, type CancelListener } from './cancel-listener.js';
import { CodeJobQueue } from './code-job-queue.js';
import { createCodeWorkers, type CodeJobProcessor, type CodeWorkerPool } from './code-worker.js';
import { redisConnectionOptions } from './redis-connection-options.js';

const sampleJob = (prompt: string): CodeJobData => ({
  repo: { owner: 'o', name: 'r', url: 'https://github.example/o/r' },
  prompt,
  agent: 'claude-code',
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

describe('cancelling code jobs', () => {
  let fixture: RedisFixture;
  /** The API process's side. */
  let api: CodeJobQueue;
  /** The worker process's side: its own connections, as in production. */
  let workerQueue: CodeJobQueue;
  let worker: CodeWorkerPool | undefined;
  let listener: CancelListener | undefined;

  beforeEach(() => {
    fixture = new RedisFixture('cancel');
    api = new CodeJobQueue({ redis: fixture.connect(), prefix: fixture.prefix });
    workerQueue = new CodeJobQueue({ redis: fixture.connect(), prefix: fixture.prefix });
  });
  afterEach(async () => {
    await listener?.close();
    await worker?.close();
    await api.close();
    await workerQueue.close();
    await fixture.cleanup();
    worker = undefined;
    listener = undefined;
  });

  const startWorker = (processor: CodeJobProcessor): CodeWorkerPool =>
    createCodeWorkers(processor, { connection: redisConnectionOptions(testRedisUrl()), prefix: fixture.prefix, agents: ['claude-code'] });

  it('removes a job that has not started, so no worker ever runs it', async () => {
    const { jobId } = await api.enqueue(sampleJob('doomed'));
    expect(await api.requestCancel(jobId)).toEqual({ removedBeforeStart: true });
    expect(await api.getJob(jobId)).toBeNull();
    expect(await workerQueue.isCancelRequested(jobId)).toBe(true);

    const processed: string[] = [];
    worker = startWorker(async (job) => {
      processed.push(job.data.prompt);
    });
    // A job enqueued after it is processed, so the worker has had its chance at the cancelled one.
    await api.enqueue(sampleJob('sentinel'));
    await waitFor(() => processed.length > 0);
    await sleep(100);
    expect(processed).toEqual(['sentinel']);
  });

  it('aborts the signal of a running job in another process through the cancel channel', async () => {
    let started: Job | undefined;
    let abortReason: unknown;
    worker = startWorker(async (job, _token, signal) => {
      // What a real processor does first: a cancel requested before the job was picked up.
      if (job.id !== undefined && (await workerQueue.isCancelRequested(job.id))) throw new UnrecoverableError('cancelled');
      started = job;
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
      abortReason = signal.reason;
      throw new UnrecoverableError('cancelled');
    });
    const running = worker;
    listener = await listenForCancelRequests({
      redis: fixture.connect(),
      prefix: fixture.prefix,
      onCancel: (jobId) => running.cancelJob(jobId, 'cancel requested'),
    });

    const { jobId } = await api.enqueue(sampleJob('long job'));
    await waitFor(() => started !== undefined);
    const cancelledAt = Date.now();
    expect(await api.requestCancel(jobId)).toEqual({ removedBeforeStart: false });
    await waitFor(async () => (await api.getJob(jobId))?.state === 'failed');
    expect(Date.now() - cancelledAt).toBeLessThan(2_000);
    expect(String(abortReason)).toContain('cancel requested');
    expect(await api.getJob(jobId)).toMatchObject({ state: 'failed', attemptsMade: 1, failedReason: 'cancelled' });
  });

  it('ignores cancel requests for jobs this worker does not hold', async () => {
    const heard: string[] = [];
    listener = await listenForCancelRequests({ redis: fixture.connect(), prefix: fixture.prefix, onCancel: (id) => heard.push(id) });
    expect(await api.requestCancel('not-a-job')).toEqual({ removedBeforeStart: false });
    await waitFor(() => heard.length === 1);
    expect(heard).toEqual(['not-a-job']);
  });

  it('hands the processor an AbortSignal however it declares its parameters', async () => {
    const signals: unknown[] = [];
    worker = startWorker(async (...args: Parameters<CodeJobProcessor>) => {
      signals.push(args[2]);
    });
    await api.enqueue(sampleJob('any'));
    await waitFor(() => signals.length === 1);
    expect(signals[0]).toBeInstanceOf(AbortSignal);
  });
});
