import { DelayedError, Worker, type Job } from 'bullmq';
import type { Cluster } from 'ioredis';
import { GITHUB_TRIGGERS_QUEUE, GITHUB_TRIGGER_TASK, GitHubTrigger, GitHubTriggerFollow } from '@tinyb/contracts';
import { silentLogger, type Logger } from '@tinyb/core';
import { DEFAULT_QUEUE_PREFIX } from './queue-keys.js';
import type { RedisConnectionOptions } from './redis-connection-options.js';

/** What a follower says after a look at its job: over (the comment is final), or look again later. */
export type FollowOutcome = { done: true } | { done: false; recheckInMs: number };

/** The two tasks of the `github-triggers` queue, as plain functions of their parsed data and an abort signal. */
export interface GitHubTriggerHandlers {
  delivery(trigger: GitHubTrigger, signal: AbortSignal): Promise<void>;
  follow(follow: GitHubTriggerFollow, signal: AbortSignal): Promise<FollowOutcome>;
}

export interface GitHubTriggerWorkerOptions {
  connection: RedisConnectionOptions | Cluster;
  /** Must match the queue's prefix. Default `tinyb`. */
  prefix?: string;
  /** Tasks run at once: they are a few GitHub calls each, light next to a code job. Default 4. */
  concurrency?: number;
  logger?: Logger;
}

/**
 * Consumes the `github-triggers` queue with its own BullMQ Worker (not the code jobs' slots: a trigger must not
 * wait behind hours of agent work). A follower that finds its job still running is moved back to delayed in
 * place (BullMQ's DelayedError), so waiting costs no attempts and survives any worker's restart: whichever
 * worker is up takes the next look.
 */
export class GitHubTriggerWorker {
  private readonly worker: Worker;

  constructor(handlers: GitHubTriggerHandlers, opts: GitHubTriggerWorkerOptions) {
    const logger = opts.logger ?? silentLogger;
    this.worker = new Worker(
      GITHUB_TRIGGERS_QUEUE,
      async (job: Job, token?: string, signal?: AbortSignal) => {
        const abort = signal ?? new AbortController().signal;
        if (job.name === GITHUB_TRIGGER_TASK.delivery) {
          await handlers.delivery(GitHubTrigger.parse(job.data), abort);
          return;
        }
        if (job.name === GITHUB_TRIGGER_TASK.follow) {
          const outcome = await handlers.follow(GitHubTriggerFollow.parse(job.data), abort);
          if (outcome.done) return;
          await job.moveToDelayed(Date.now() + outcome.recheckInMs, token);
          throw new DelayedError();
        }
        logger.warn({ name: job.name, jobId: job.id }, 'unknown github trigger task: dropped');
      },
      { connection: opts.connection, prefix: opts.prefix ?? DEFAULT_QUEUE_PREFIX, concurrency: opts.concurrency ?? 4, autorun: true },
    );
    this.worker.on('error', (err) => logger.warn({ err: err.message }, 'github trigger worker redis error'));
    this.worker.on('failed', (job, err) => {
      if (job !== undefined && !(err instanceof DelayedError)) {
        logger.warn({ task: job.name, taskId: job.id, attemptsMade: job.attemptsMade, err: err.message }, 'github trigger task failed');
      }
    });
  }

  async waitUntilReady(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  /** Stops taking tasks and waits for the running ones. */
  async close(): Promise<void> {
    await this.worker.close();
  }
}
