import { randomUUID } from 'node:crypto';
import { Job, Queue, type JobsOptions, type JobState as QueueJobState } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RedisClient } from './redis-target.js';
import { BUILT_IN_AGENTS, CODE_JOBS_QUEUE, CodeJobData, agentQueueName, type NewJobEvent } from '@tinyb/contracts';
import { AppError, silentLogger, type EnqueueOptions as JobQueueEnqueueOptions, type JobEventPublisher, type JobQueue, type Logger } from '@tinyb/core';
import { mergePrometheusFamilies } from './merge-prometheus-families.js';
import { DEFAULT_QUEUE_PREFIX, queueKeys } from './queue-keys.js';
import { BULLMQ_ADD_KEYS, ENQUEUE_COMMAND, defineEnqueueCommand, type EnqueueClient } from './enqueue-scripts.js';
import { isRedisUnavailableError } from './redis-unavailable.js';
import { TurnWriteBatch } from './turn-write-batch.js';

const HOUR_MS = 60 * 60 * 1000;

/** The BullMQ job name of a code job (the queue carries only these). */
export const CODE_JOB_NAME = 'code';

export interface CodeJobQueueDeps {
  /**
   * A normal ioredis connection, shared by the BullMQ Queue and the queue's own keys. The caller owns it:
   * `close()` closes the Queue, not this connection.
   */
  redis: RedisClient;
  /** Key prefix of the queue and its keys; workers must use the same one. Default `tinyb`. */
  prefix?: string;
  /**
   * The agents this deployment knows: one BullMQ queue each (`agentQueueName`). A job for any other agent is
   * refused (`unknown_agent`). Default: the built-in agents.
   */
  agents?: readonly string[];
  /** Tries per job, the first included. Default 3. */
  attempts?: number;
  /** First retry delay; doubles on each retry. Default 15 s. */
  backoffDelayMs?: number;
  /** How long finished jobs stay in BullMQ (for Bull Board). Defaults: 24 h completed, 7 days failed. */
  keepCompletedMs?: number;
  keepFailedMs?: number;
  /** How long an idempotency key maps to its job. Default 24 h. */
  idempotencyTtlMs?: number;
  /** How long a cancel request is remembered, so a job that starts late still sees it. Default 24 h. */
  cancelFlagTtlMs?: number;
  /** Receives the Queue's connection errors (BullMQ prints them to the console when nobody listens). */
  logger?: Logger;
}

/**
 * An event publisher that can hand `job.queued`'s writes to our enqueue script (RedisJobEvents has this shape;
 * the queue does not depend on it). With one, on a single Redis, a submit is one round trip: the idempotency
 * key, `job.queued` and the add in one script.
 */
export interface QueuedEventAnnouncer extends JobEventPublisher {
  /** `job.queued`'s writes as `[command, key, ...args]` (first reply: stream id), or undefined if they cannot share our script. */
  stageQueued(jobId: string, event: NewJobEvent): { keys: string[]; commands: string[][] } | undefined;
}

function canStage(publisher: JobEventPublisher): publisher is QueuedEventAnnouncer {
  return typeof (publisher as Partial<QueuedEventAnnouncer>).stageQueued === 'function';
}

export interface EnqueueOptions extends JobQueueEnqueueOptions {
  /** Chosen by the caller; generated when absent. */
  jobId?: string;
}

/** What the queue knows of a job; its progress and result live in the job's events. */
export interface CodeJobSnapshot {
  id: string;
  state: QueueJobState | 'unknown';
  data: CodeJobData;
  /** The BullMQ queue that holds it: its agent's, or the legacy single queue for a job not yet forwarded. */
  queue: string;
  attemptsMade: number;
  failedReason: string | undefined;
  createdAtMs: number;
}

// BullMQ refuses integer-looking ids and ':' ; braces would break the events' cluster hash tag.
const JOB_ID = /^(?!\d+$)[A-Za-z0-9_-]{1,128}$/;
const WAITING_STATES: ReadonlySet<string> = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);

/**
 * The code jobs as the API sees them: enqueue (idempotent) into the job's agent's queue; look up and cancel
 * by job id across every agent queue and the legacy single queue; readiness; metrics.
 */
export class CodeJobQueue implements JobQueue {
  readonly prefix: string;
  /** Agent name → its BullMQ queue. */
  private readonly byAgent: ReadonlyMap<string, Queue>;
  /** The queue of jobs added before queues were per agent; workers forward what is left in it. */
  private readonly legacy: Queue;
  private readonly redis: RedisClient;
  private readonly logger: Logger;
  private readonly defaultJobOptions: JobsOptions;
  private readonly idempotencyTtlMs: number;
  private readonly cancelFlagTtlMs: number;
  /** The enqueue scripts of one event-loop turn leave in one socket write. */
  private readonly enqueueWrites = new TurnWriteBatch();

  constructor(deps: CodeJobQueueDeps) {
    this.redis = deps.redis;
    this.prefix = deps.prefix ?? DEFAULT_QUEUE_PREFIX;
    this.idempotencyTtlMs = deps.idempotencyTtlMs ?? 24 * HOUR_MS;
    this.cancelFlagTtlMs = deps.cancelFlagTtlMs ?? 24 * HOUR_MS;
    const defaultJobOptions: JobsOptions = {
      // A job is retried only for errors its processor marks retryable (others become UnrecoverableError);
      // three tries ride out a sandbox or forge blip without hammering a failing dependency.
      attempts: deps.attempts ?? 3,
      // Exponential: 15 s, then 30 s. Long enough for a rate limit or a restarting service to recover.
      backoff: { type: 'exponential', delay: deps.backoffDelayMs ?? 15_000 },
      // BullMQ's record is only the queue's view (Bull Board); progress, status and results are in the job's
      // own event stream with its own retention. Failed jobs are kept longer, for post-mortems. Ages are in
      // seconds; the counts bound Redis memory whatever the age.
      removeOnComplete: { age: Math.ceil((deps.keepCompletedMs ?? 24 * HOUR_MS) / 1000), count: 10_000 },
      removeOnFail: { age: Math.ceil((deps.keepFailedMs ?? 7 * 24 * HOUR_MS) / 1000), count: 10_000 },
    };
    this.defaultJobOptions = defaultJobOptions;
    if (!deps.redis.isCluster) defineEnqueueCommand(deps.redis);
    const logger = deps.logger ?? silentLogger;
    this.logger = logger;
    const open = (name: string): Queue => {
      const queue = new Queue(name, { connection: deps.redis, prefix: this.prefix, defaultJobOptions });
      queue.on('error', (err: Error) => logger.warn({ err: err.message, queue: name }, 'job queue redis error'));
      return queue;
    };
    const agents = [...new Set(deps.agents ?? BUILT_IN_AGENTS)];
    this.byAgent = new Map(agents.map((agent) => [agent, open(agentQueueName(agent))]));
    this.legacy = open(CODE_JOBS_QUEUE);
  }

  /** Every BullMQ queue, the legacy one last: for Bull Board. */
  get queues(): Queue[] {
    return [...this.byAgent.values(), this.legacy];
  }

  /** The queue new jobs for `agent` go into; `unknown_agent` for an agent this deployment does not know. */
  queueFor(agent: string): Queue {
    const queue = this.byAgent.get(agent);
    if (queue === undefined) {
      throw new AppError('unknown_agent', `agent '${agent}' is not known here; known: ${[...this.byAgent.keys()].join(', ')}`);
    }
    return queue;
  }

  /** Job counts by state, summed over every queue (the legacy one included). */
  async getJobCounts(...states: QueueJobState[]): Promise<Record<string, number>> {
    const total: Record<string, number> = {};
    for (const counts of await Promise.all(this.queues.map((q) => q.getJobCounts(...states)))) {
      for (const [state, n] of Object.entries(counts)) total[state] = (total[state] ?? 0) + n;
    }
    return total;
  }

  async enqueue(data: CodeJobData, opts: EnqueueOptions = {}): Promise<{ jobId: string; created: boolean }> {
    const jobId = opts.jobId ?? randomUUID();
    if (!JOB_ID.test(jobId)) throw new AppError('invalid_request', 'job id must be 1-128 letters, digits, _ or -, not only digits');
    const queue = this.queueFor(data.agent);
    const idemKey = opts.idempotencyKey === undefined ? undefined : queueKeys.idempotency(this.prefix, opts.idempotencyKey);
    const announce = opts.announce;
    const staged = announce !== undefined && canStage(announce.via) ? announce.via.stageQueued(jobId, announce.event) : undefined;
    // One round trip when nothing must run between the idempotency check and the add: a beforeAdd hook
    // (admission) must not run for a replay, so with one the key is claimed first, as on a cluster.
    if (staged !== undefined && opts.beforeAdd === undefined) return this.enqueueAtomically(queue, jobId, data, staged, idemKey);
    if (idemKey !== undefined) {
      const existing = await this.claimIdempotencyKey(idemKey, jobId);
      if (existing !== undefined) return { jobId: existing, created: false };
    }
    try {
      await opts.beforeAdd?.(jobId);
      if (staged !== undefined) {
        // The key is ours already; the announcement and the add still go together.
        const outcome = await this.enqueueAtomically(queue, jobId, data, staged, undefined);
        if (!outcome.created) throw new AppError('conflict', `job ${jobId} already exists`);
      } else {
        if (announce !== undefined) await announce.via.publish(jobId, announce.event);
        await queue.add(CODE_JOB_NAME, data, { jobId });
      }
    } catch (err) {
      // Free the key, but only if it is still ours, so the client's retry can create the job.
      if (idemKey !== undefined && (await this.redis.get(idemKey).catch(() => null)) === jobId) {
        await this.redis.del(idemKey).catch(() => undefined);
      }
      throw err;
    }
    return { jobId, created: true };
  }

  /**
   * The idempotency key, BullMQ's add and `job.queued` with its status and indexes in one script (see
   * enqueue-scripts.ts): all or none, one round trip.
   */
  private async enqueueAtomically(
    queue: Queue,
    jobId: string,
    data: CodeJobData,
    staged: { keys: string[]; commands: string[][] },
    idemKey: string | undefined,
  ): Promise<{ jobId: string; created: boolean }> {
    const bullmq = await this.bullmqAddArgs(queue, jobId, data);
    const keys = [...bullmq.keys, queue.toKey(jobId), ...staged.keys, ...(idemKey === undefined ? [] : [idemKey])];
    const ttl = idemKey === undefined ? '' : String(this.idempotencyTtlMs);
    const redis = this.redis as Redis;
    if (redis.status === 'ready') this.enqueueWrites.hold(redis.stream);
    let reply;
    try {
      reply = await (redis as unknown as EnqueueClient)[ENQUEUE_COMMAND](keys.length, ...keys, jobId, ttl, JSON.stringify(staged.commands), ...bullmq.argv);
    } catch (err) {
      // A Redis error stopped the script before anything of ours was written (BullMQ's add runs first, the
      // idempotency key and the event after it), or the connection dropped and we cannot know: a retry with the
      // same idempotency key is safe either way. An unreachable Redis stays itself (an outage: 503, not 500).
      if (isRedisUnavailableError(err)) throw err;
      throw new AppError('internal', `job ${jobId} not queued: ${(err as Error).message}`, { retryable: true, cause: err });
    }
    const [verdict, detail] = reply;
    if (verdict === 1) return { jobId, created: true };
    if (verdict === 0) return { jobId: detail, created: false };
    if (verdict === 3) {
      // Only a Redis failure while writing the event gets here (the script checked the event's keys first): the
      // job must not run unannounced, so it is taken back before a worker can have it, if it still can be, and
      // the idempotency key is freed for the client's retry.
      const removed = await queue.remove(jobId).catch(() => 0);
      if (idemKey !== undefined && (await redis.get(idemKey).catch(() => null)) === jobId) await redis.del(idemKey).catch(() => undefined);
      this.logger.error({ jobId, removed, err: detail }, 'job.queued could not be written with its job');
      throw new AppError('internal', `job ${jobId}: job.queued could not be written`, { retryable: true });
    }
    throw new AppError('internal', `job ${jobId} not queued: ${detail}`, { retryable: true });
  }

  /**
   * What `queue.add` would send BullMQ's add script for this job (its keys, then its three ARGV), built by
   * BullMQ itself: Job.addJob on a client that records the call instead of sending it. So the job is stored
   * exactly as BullMQ stores it, with the queue's default options.
   */
  private async bullmqAddArgs(queue: Queue, jobId: string, data: CodeJobData): Promise<{ keys: string[]; argv: Array<string | Buffer> }> {
    let recorded: { command: string; args: Array<string | Buffer> } | undefined;
    const recorder = {
      isCluster: false,
      runCommand: async (command: string, args: Array<string | Buffer>) => {
        recorded = { command, args };
        return jobId;
      },
    };
    const job = new Job(queue, CODE_JOB_NAME, data, { ...this.defaultJobOptions, jobId }, jobId);
    await job.addJob(recorder as unknown as Parameters<Job['addJob']>[0]);
    // Any other script (a delayed or prioritized add) would take other keys: our options never choose one.
    if (recorded === undefined || !recorded.command.startsWith('addStandardJob:') || recorded.args.length !== BULLMQ_ADD_KEYS + 3) {
      throw new AppError('internal', `BullMQ's add took an unexpected shape (${recorded?.command ?? 'no command'})`);
    }
    return { keys: recorded.args.slice(0, BULLMQ_ADD_KEYS) as string[], argv: recorded.args.slice(BULLMQ_ADD_KEYS) };
  }

  /** BullMQ's counts of every queue, one family each with a `queue` label per sample. */
  async exportMetrics(): Promise<string> {
    return mergePrometheusFamilies(await Promise.all(this.queues.map((q) => q.exportPrometheusMetrics())));
  }

  async jobCounts(): Promise<Array<{ queue: string; state: string; count: number }>> {
    const perQueue = await Promise.all(this.queues.map(async (q) => ({ queue: q.name, counts: await q.getJobCounts() })));
    return perQueue.flatMap(({ queue, counts }) => Object.entries(counts).map(([state, count]) => ({ queue, state, count })));
  }

  async getJob(jobId: string): Promise<CodeJobSnapshot | null> {
    const job = await this.findJob(jobId);
    if (job?.id === undefined) return null;
    return {
      id: job.id,
      state: await job.getState(),
      data: CodeJobData.parse(job.data),
      queue: job.queueName,
      attemptsMade: job.attemptsMade,
      failedReason: job.failedReason || undefined,
      createdAtMs: job.timestamp,
    };
  }

  /**
   * Asks for a job to stop, wherever it is. The request is stored first (a worker checks it when the job
   * starts, so a job picked up a moment later still stops), then a job that has not started is removed,
   * then workers are told (the one running it aborts its signal). `removedBeforeStart` says the job will
   * never run, so the caller records `job.cancelled` itself; otherwise the worker will.
   */
  async requestCancel(jobId: string): Promise<{ removedBeforeStart: boolean }> {
    await this.redis.set(queueKeys.cancelFlag(this.prefix, jobId), '1', 'PX', this.cancelFlagTtlMs);
    let removedBeforeStart = false;
    const job = await this.findJob(jobId);
    if (job !== undefined && WAITING_STATES.has(await job.getState())) {
      // If a worker took the job since getState, it holds the job's lock and remove() answers 0: the job
      // is running and the cancel message below reaches it. A legacy job forwarded meanwhile is found in its
      // agent's queue by the worker, which checks the cancel flag before it starts.
      removedBeforeStart = (await this.queueNamed(job.queueName).remove(jobId)) === 1;
    }
    await this.redis.publish(queueKeys.cancelChannel(this.prefix), jobId);
    return { removedBeforeStart };
  }

  async isCancelRequested(jobId: string): Promise<boolean> {
    return (await this.redis.exists(queueKeys.cancelFlag(this.prefix, jobId))) === 1;
  }

  /** For `/ready`: true when Redis answers a PING within `timeoutMs`. Never throws. */
  async isReady(timeoutMs = 1_000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([this.redis.ping().then((reply) => reply === 'PONG', () => false), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the BullMQ Queues; the shared connection stays open for its owner to quit. */
  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close()));
  }

  /**
   * The job with this id in whichever queue holds it. The agent queues are asked first: a legacy job that was
   * forwarded leaves a finished record behind in the legacy queue, and the live one is its agent's. One
   * HGETALL per queue, sent together.
   */
  private async findJob(jobId: string): Promise<Job | undefined> {
    const found = await Promise.all(this.queues.map((q) => q.getJob(jobId)));
    return found.find((job) => job !== undefined);
  }

  private queueNamed(name: string): Queue {
    return this.queues.find((q) => q.name === name) ?? this.legacy;
  }

  /** Returns the job id already mapped to this key, or undefined once the key is ours. */
  private async claimIdempotencyKey(key: string, jobId: string): Promise<string | undefined> {
    // Loop because the other job's key can expire between our failed SET NX and the GET.
    for (let tries = 0; tries < 3; tries++) {
      if ((await this.redis.set(key, jobId, 'PX', this.idempotencyTtlMs, 'NX')) === 'OK') return undefined;
      const existing = await this.redis.get(key);
      if (existing !== null) return existing;
    }
    throw new AppError('internal', 'could not claim idempotency key', { retryable: true });
  }
}
