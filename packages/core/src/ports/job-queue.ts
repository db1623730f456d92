import type { CodeJobData, NewJobEvent } from '@tinyb/contracts';
import type { JobEventPublisher } from './job-events.js';

export interface EnqueueOptions {
  /** The same key returns the same job instead of queueing another (kept for 24 h). */
  idempotencyKey?: string;
  /**
   * Runs once the job id is known and before any worker can see the job: the place to record
   * `job.queued`, so it always comes first in the job's event log.
   */
  beforeAdd?(jobId: string): Promise<void>;
  /**
   * `job.queued`, recorded as the job's first event together with the job: a queue that can write both in
   * one transaction never leaves one without the other; otherwise it is published just before the add.
   * Recorded only for a new job, never for an idempotent replay. `via` is where events are recorded; a queue
   * that knows it (RedisJobEvents and CodeJobQueue on one Redis) folds the writes into its own transaction.
   */
  announce?: { event: NewJobEvent; via: JobEventPublisher };
}

/** The API's view of the job queue. */
export interface JobQueue {
  enqueue(data: CodeJobData, opts?: EnqueueOptions): Promise<{ jobId: string; created: boolean }>;
  /**
   * Asks for a job to stop. A job no worker has started yet is removed and never runs
   * (`removedBeforeStart`); a running one is aborted by the worker that holds it.
   */
  requestCancel(jobId: string): Promise<{ removedBeforeStart: boolean }>;
  isReady(): Promise<boolean>;
  /** The queue's job counts by state, in the Prometheus text format. */
  exportMetrics(): Promise<string>;
  /** Job counts of every queue by state (BullMQ's states: waiting, active, delayed, completed, failed, …). */
  jobCounts(): Promise<Array<{ queue: string; state: string; count: number }>>;
}
