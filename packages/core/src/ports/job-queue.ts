import type { CodeJobData } from '@tinyb/contracts';

export interface EnqueueOptions {
  /** The same key returns the same job instead of queueing another (kept for 24 h). */
  idempotencyKey?: string;
  /**
   * Runs once the job id is known and before any worker can see the job: the place to record
   * `job.queued`, so it always comes first in the job's event log.
   */
  beforeAdd?(jobId: string): Promise<void>;
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
