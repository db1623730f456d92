import type { JobState, JobStatus } from '@tinyb/contracts';

export interface JobListQuery {
  /** Only this tenant's jobs; undefined lists every tenant's (admins). */
  tenant?: string;
  state?: JobState;
  limit: number;
  /** Where the previous page ended (its `nextCursor`); opaque to callers. */
  cursor?: string;
}

export interface JobListPage {
  jobs: JobStatus[];
  /** Null when nothing follows. A page may hold fewer than `limit` jobs and still have a next one. */
  nextCursor: string | null;
}

/**
 * Finds jobs by owner, newest first, for as long as their status is kept. Jobs whose status expired drop
 * out of the listing; an index entry never outlives its job by more than one listing of it.
 * Throws AppError `invalid_request` for a cursor it did not hand out.
 */
export interface JobDirectory {
  listJobs(query: JobListQuery): Promise<JobListPage>;
}

/**
 * The jobs a tenant has queued or running. A job holds its slot from its claim (or its `job.queued`
 * event) to its terminal event, recorded with those events, so the count cannot drift when a job fails
 * or is cancelled.
 */
export interface ActiveJobSlots {
  /**
   * Claims a slot for `jobId` unless `max` jobs of the tenant are already active; false when full.
   * Concurrent claims never admit more than `max`.
   */
  claimActiveSlot(tenant: string, jobId: string, max: number): Promise<boolean>;
  /** Gives a claimed slot back, for a job that was never queued after all. */
  releaseActiveSlot(tenant: string, jobId: string): Promise<void>;
}
