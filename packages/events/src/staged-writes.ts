import type { NewJobEvent } from '@tinyb/contracts';

/**
 * Redis writes described as data, so another package can run them inside its own transaction or script
 * (the queue's one-round-trip enqueue runs `job.queued`'s writes in the same script as the BullMQ add).
 * `keys` lists every key the commands touch, for `EVALSHA`'s KEYS (and a cluster's slot check).
 */
export interface StagedWrites {
  keys: string[];
  /** Each command as `[name, key or channel, ...args]`; the first one's reply is the event's stream id. */
  commands: string[][];
}

/** What can hand its writes of an event to somebody else's transaction instead of running them itself. */
export interface StagedEventWriter {
  /**
   * The writes that record `job.queued` for `jobId`, or undefined when they cannot share a transaction with
   * the queue's keys (on a Redis Cluster a job's keys and the queue's live in different slots).
   */
  stageQueued(jobId: string, event: NewJobEvent): StagedWrites | undefined;
}
