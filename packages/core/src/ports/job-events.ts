import type { JobEvent, JobStatus, NewJobEvent } from '@tinyb/contracts';

export interface StoredJobEvent {
  /** The event's id in the log (a Redis Stream id): totally ordered per job, and the SSE `id:`. */
  id: string;
  event: JobEvent;
}

/** Appends to a job's event log. Events of one job are stored in the order `publish` was called and awaited. */
export interface JobEventPublisher {
  publish(jobId: string, event: NewJobEvent): Promise<string>;
}

/**
 * Reads a job's event log: first everything after `afterId` (the whole history when absent), then live
 * events as they are published. Each event once, in order. The iteration ends after a terminal event,
 * or when `signal` aborts.
 */
export interface JobEventSubscriber {
  subscribe(jobId: string, opts: { afterId?: string; signal: AbortSignal }): AsyncIterable<StoredJobEvent>;
}

/** The job's status as folded from its events; null for a job that was never queued (or expired). */
export interface JobStatusReader {
  getStatus(jobId: string): Promise<JobStatus | null>;
}
