import { Queue, type JobsOptions } from 'bullmq';
import { GITHUB_TRIGGERS_QUEUE, GITHUB_TRIGGER_TASK, type GitHubTrigger, type GitHubTriggerFollow } from '@tinyb/contracts';
import { silentLogger, type Logger } from '@tinyb/core';
import { DEFAULT_QUEUE_PREFIX } from './queue-keys.js';
import type { RedisClient } from './redis-target.js';

const HOUR_MS = 60 * 60 * 1000;

export interface GitHubTriggerQueueDeps {
  /** Shared with the caller, who owns it: `close()` closes the BullMQ Queue, not this connection. */
  redis: RedisClient;
  /** Must match the workers' prefix. Default `tinyb`. */
  prefix?: string;
  /**
   * How long a delivery id is remembered, so the same delivery (GitHub's retries and redeliveries reuse its
   * id) starts nothing new. Default 72 h: GitHub offers redelivery of the last three days' deliveries.
   */
  deliveryTtlMs?: number;
  /** Tries of a delivery task, the first included; its GitHub calls may meet an outage. Default 5. */
  attempts?: number;
  /** First retry delay of a delivery task; doubles on each retry. Default 2 s. */
  backoffDelayMs?: number;
  logger?: Logger;
}

/**
 * The `github-triggers` queue: verified webhook deliveries the API hands to workers (which hold the GitHub
 * credentials), and the workers' own "follow this job to its end" tasks. A delivery is enqueued at most once
 * per delivery id: a SET NX with a TTL claims the id, then the task is added under an id derived from it.
 */
export class GitHubTriggerQueue {
  readonly queue: Queue;
  private readonly redis: RedisClient;
  private readonly prefix: string;
  private readonly deliveryTtlMs: number;

  constructor(deps: GitHubTriggerQueueDeps) {
    this.redis = deps.redis;
    this.prefix = deps.prefix ?? DEFAULT_QUEUE_PREFIX;
    this.deliveryTtlMs = deps.deliveryTtlMs ?? 72 * HOUR_MS;
    const defaultJobOptions: JobsOptions = {
      attempts: deps.attempts ?? 5,
      backoff: { type: 'exponential', delay: deps.backoffDelayMs ?? 2_000 },
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
    };
    this.queue = new Queue(GITHUB_TRIGGERS_QUEUE, { connection: deps.redis, prefix: this.prefix, defaultJobOptions });
    const logger = deps.logger ?? silentLogger;
    this.queue.on('error', (err: Error) => logger.warn({ err: err.message, queue: GITHUB_TRIGGERS_QUEUE }, 'github trigger queue redis error'));
  }

  /** Queues a verified delivery unless its id was seen within the TTL; `created: false` means nothing new was started. */
  async enqueueDelivery(trigger: GitHubTrigger): Promise<{ created: boolean }> {
    const key = `${this.prefix}:github-delivery:${trigger.deliveryId}`;
    if ((await this.redis.set(key, trigger.receivedAt, 'PX', this.deliveryTtlMs, 'NX')) !== 'OK') return { created: false };
    try {
      await this.queue.add(GITHUB_TRIGGER_TASK.delivery, trigger, { jobId: `delivery-${trigger.deliveryId}` });
    } catch (err) {
      // Nothing was queued: forget the id, so GitHub's retry of this delivery is not taken for a duplicate.
      await this.redis.del(key).catch(() => undefined);
      throw err;
    }
    return { created: true };
  }

  /**
   * Starts following a triggered job (once per job: the task id is the job's, so a retried delivery task adds
   * no second follower). The first look happens after `delayMs`.
   */
  async follow(follow: GitHubTriggerFollow, delayMs: number): Promise<void> {
    await this.queue.add(GITHUB_TRIGGER_TASK.follow, follow, {
      jobId: `follow-${follow.jobId}`,
      delay: delayMs,
      // Waiting is not failing: a follower re-schedules itself without using attempts (see GitHubTriggerWorker).
      attempts: 10,
    });
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
