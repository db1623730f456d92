import { EventEmitter } from 'node:events';
import { Queue, UnrecoverableError, Worker, type Job, type JobsOptions, type Processor, type WorkerOptions } from 'bullmq';
import { AGENT_NAME, CODE_JOBS_QUEUE, CodeJobData, agentQueueName } from '@tinyb/contracts';
import type { Logger } from '@tinyb/core';
import { JobSlots } from './job-slots.js';
import { DEFAULT_QUEUE_PREFIX } from './queue-keys.js';
import type { Cluster } from 'ioredis';
import type { RedisConnectionOptions } from './redis-connection-options.js';

/**
 * A code-job processor. The signal is always there (aborted by `cancelJob`); `job.data` is untrusted input:
 * parse it with `CodeJobData.parse`.
 */
export type CodeJobProcessor = (job: Job, token: string | undefined, signal: AbortSignal) => Promise<unknown>;

export interface CodeWorkerOptions {
  /**
   * Options for a single Redis: BullMQ opens its own normal and blocking connections from them. On a Redis
   * Cluster, a `Cluster` connection instead (its redisOptions with `maxRetriesPerRequest: null`): the Workers
   * share it for normal commands and each duplicates it for its blocking reads. The caller owns it and closes
   * it after `close()`.
   */
  connection: RedisConnectionOptions | Cluster;
  /** Must match the queue's prefix. Default `tinyb`. */
  prefix?: string;
  /**
   * The agents this process can run (their credentials are configured): it consumes exactly their queues, so
   * it never takes a job it cannot run.
   */
  agents: readonly string[];
  /**
   * Jobs run at once by this process, over all its agent queues together. Default 1: each job drives a
   * sandbox and an agent, which are heavy.
   */
  concurrency?: number;
  /**
   * How long a job's lock lasts without renewal (renewed every quarter of it). Default 60 s, twice BullMQ's,
   * so a busy event loop (tar, large diffs) is not mistaken for a dead worker.
   */
  lockDurationMs?: number;
  /** How often to look for jobs of dead workers. Default 30 s. */
  stalledIntervalMs?: number;
  /**
   * Times a job may be recovered from a dead worker before it fails. Default 1: a job that keeps killing
   * its worker must not take down the next one forever.
   */
  maxStalledCount?: number;
  /**
   * Forward the jobs left in the legacy single queue (`CODE_JOBS_QUEUE`, from before queues were per agent)
   * into their agents' queues. Default true.
   */
  forwardLegacyJobs?: boolean;
  /**
   * Called for a legacy job that cannot be forwarded (its data is not a code job, or its agent name cannot
   * name a queue): it has failed in BullMQ, and nothing else will record its end.
   */
  onLegacyJobRefused?(jobId: string, reason: string): void;
  /** Receives the Workers' `error` events (an EventEmitter `error` with no listener would crash the process). */
  logger?: Logger;
}

export function codeWorkerOptions(opts: Omit<CodeWorkerOptions, 'agents'>): WorkerOptions {
  return {
    connection: opts.connection,
    prefix: opts.prefix ?? DEFAULT_QUEUE_PREFIX,
    concurrency: opts.concurrency ?? 1,
    lockDuration: opts.lockDurationMs ?? 60_000,
    // BullMQ renews at half the lock by default; at a quarter, a lock survives an event loop stalled for three
    // quarters of it, and a dead worker's lock still expires within one duration.
    lockRenewTime: Math.max(1, Math.floor((opts.lockDurationMs ?? 60_000) / 4)),
    stalledInterval: opts.stalledIntervalMs ?? 30_000,
    maxStalledCount: opts.maxStalledCount ?? 1,
    autorun: true,
  };
}

/**
 * A BullMQ Worker that takes a job only while it holds one of the process's shared slots. The slot is taken
 * before the job is moved to active (so a full process leaves jobs in the queue for idle workers, instead of
 * holding them locked while it waits) and given back when the job's attempt is over. BullMQ's "fetch the
 * next job in the same call that completes this one" is turned off for the same reason: every fetch goes
 * through `moveToActive`, and so through a slot.
 */
class SlotLimitedWorker extends Worker {
  constructor(
    name: string,
    processor: Processor,
    opts: WorkerOptions,
    private readonly slots: JobSlots,
  ) {
    super(name, processor, opts);
  }

  protected override async moveToActive(token: string, name?: string): Promise<Job> {
    if (!(await this.slots.acquire())) return this.nextJobFromJobData();
    try {
      const job = await super.moveToActive(token, name);
      if (job === undefined) this.slots.release();
      return job;
    } catch (err) {
      this.slots.release();
      throw err;
    }
  }

  override async processJob(job: Job, token: string): Promise<void | Job> {
    try {
      return await super.processJob(job, token, () => false);
    } finally {
      this.slots.release();
    }
  }
}

/** The job options a forwarded legacy job keeps: what the API chose for it. */
const FORWARDED_OPTIONS = ['attempts', 'backoff', 'removeOnComplete', 'removeOnFail', 'priority'] as const;

/**
 * The worker side of the code-job queues: BullMQ Workers on every agent queue this process can run, sharing
 * `concurrency` slots, plus a forwarder that drains the legacy single queue. It exposes what a single Worker
 * did (`cancelJob`, `cancelAllJobs`, `close`, `error` and `failed` events), over all its Workers.
 *
 * Why shared slots rather than `concurrency` per queue: a process has the CPU, memory and sandboxes for
 * `concurrency` jobs whatever their agent, and a split (say 1 + 1 of 2) would leave a slot idle while the
 * other agent's queue is long.
 */
export class CodeWorkerPool extends EventEmitter<{ error: [Error]; failed: [Job | undefined, Error] }> {
  readonly slots: JobSlots;
  private readonly workers: Worker[];
  private readonly forwardTargets = new Map<string, Queue>();

  constructor(processor: CodeJobProcessor, private readonly opts: CodeWorkerOptions) {
    super();
    const agents = [...new Set(opts.agents)];
    const options = codeWorkerOptions(opts);
    this.slots = new JobSlots(options.concurrency ?? 1);
    // BullMQ hands a processor its AbortSignal only when the function declares three parameters.
    const run = (job: Job, token?: string, signal?: AbortSignal): Promise<unknown> =>
      processor(job, token, signal ?? new AbortController().signal);
    // Per queue, `concurrency` Workers of one job each, rather than one Worker of `concurrency` jobs: BullMQ's
    // main loop fetches a Worker's next job before it starts processing the one it just fetched, so a
    // multi-job Worker waiting for a slot would hold an unstarted job (and its slot) while every Worker waits.
    // A one-job Worker that waits for a slot holds nothing.
    this.workers = agents.flatMap((agent) =>
      Array.from({ length: this.slots.size }, () => new SlotLimitedWorker(agentQueueName(agent), run, { ...options, concurrency: 1 }, this.slots)),
    );
    if (opts.forwardLegacyJobs ?? true) {
      const forward = (job: Job): Promise<string> => this.forwardLegacyJob(job);
      this.workers.push(new Worker(CODE_JOBS_QUEUE, forward, { ...options, concurrency: 1 }));
    }
    for (const worker of this.workers) {
      worker.on('error', (err: Error) => {
        opts.logger?.error({ err: err.message, queue: worker.name }, 'code worker error');
        if (this.listenerCount('error') > 0) this.emit('error', err);
      });
      worker.on('failed', (job: Job | undefined, err: Error) => {
        if (worker.name === CODE_JOBS_QUEUE) {
          if (job?.id !== undefined && err instanceof UnrecoverableError) opts.onLegacyJobRefused?.(job.id, err.message);
          return;
        }
        this.emit('failed', job, err);
      });
    }
  }

  /** The queues this pool consumes, the legacy one included. */
  get queueNames(): string[] {
    return [...new Set(this.workers.map((w) => w.name))];
  }

  /** Aborts the job's signal if one of this process's Workers runs it; false otherwise. */
  cancelJob(jobId: string, reason?: string): boolean {
    return this.workers.some((w) => w.cancelJob(jobId, reason));
  }

  cancelAllJobs(reason?: string): void {
    for (const worker of this.workers) worker.cancelAllJobs(reason);
  }

  /** Takes no new jobs and waits for running ones (they stay cancellable meanwhile), then disconnects. */
  async close(): Promise<void> {
    // Each close() marks its Worker closing at once; then the Workers waiting for a slot are answered, so
    // none of them waits for one forever.
    const closing = this.workers.map((w) => w.close());
    this.slots.close();
    await Promise.all(closing);
    await Promise.all([...this.forwardTargets.values()].map((q) => q.close()));
  }

  /**
   * Moves a job of the legacy queue into its agent's queue, with the same id and the options the API gave it.
   * Safe to repeat: adding an id the agent queue already holds is a no-op, so a forwarder that dies between
   * the add and the completion (the job is then recovered as stalled) forwards nothing twice. BullMQ's lock
   * makes this Worker the only one handling the job meanwhile.
   */
  private async forwardLegacyJob(job: Job): Promise<string> {
    const parsed = CodeJobData.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError('unknown_agent: the job\'s data is not a code job');
    const agent = parsed.data.agent;
    if (!AGENT_NAME.test(agent)) throw new UnrecoverableError(`unknown_agent: '${agent.slice(0, 64)}' cannot name a queue`);
    const name = agentQueueName(agent);
    let target = this.forwardTargets.get(name);
    if (target === undefined) {
      target = new Queue(name, { connection: this.opts.connection, prefix: this.opts.prefix ?? DEFAULT_QUEUE_PREFIX });
      target.on('error', (err: Error) => this.opts.logger?.warn({ err: err.message, queue: name }, 'legacy forwarder queue error'));
      this.forwardTargets.set(name, target);
    }
    const kept: JobsOptions = {};
    for (const key of FORWARDED_OPTIONS) if (job.opts[key] !== undefined) Object.assign(kept, { [key]: job.opts[key] });
    await target.add(job.name, job.data, { ...kept, jobId: job.id! });
    this.opts.logger?.info({ jobId: job.id, queue: name }, 'legacy job forwarded to its agent queue');
    return `forwarded to ${name}`;
  }
}

/** Starts consuming at once: the agent queues of `opts.agents` and the legacy queue. */
export function createCodeWorkers(processor: CodeJobProcessor, opts: CodeWorkerOptions): CodeWorkerPool {
  return new CodeWorkerPool(processor, opts);
}
