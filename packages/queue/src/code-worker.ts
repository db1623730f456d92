import { Worker, type Job, type WorkerOptions } from 'bullmq';
import { CODE_JOBS_QUEUE } from '@tinyb/contracts';
import type { Logger } from '@tinyb/core';
import { DEFAULT_QUEUE_PREFIX } from './queue-keys.js';
import type { RedisConnectionOptions } from './redis-connection-options.js';

/**
 * A code-job processor. The signal is always there (aborted by `worker.cancelJob`); `job.data` is
 * untrusted input: parse it with `CodeJobData.parse`.
 */
export type CodeJobProcessor = (job: Job, token: string | undefined, signal: AbortSignal) => Promise<unknown>;

export interface CodeWorkerOptions {
  /** Options, not a connection: BullMQ opens its own normal and blocking connections from them. */
  connection: RedisConnectionOptions;
  /** Must match the queue's prefix. Default `tinyb`. */
  prefix?: string;
  /** Jobs run at once by this process. Default 1: each job drives a sandbox and an agent, which are heavy. */
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
  /** Start fetching jobs at once. Default true. */
  autorun?: boolean;
  /** Receives the Worker's `error` events (an EventEmitter `error` with no listener would crash the process). */
  logger?: Logger;
}

export function codeWorkerOptions(opts: CodeWorkerOptions): WorkerOptions {
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
    autorun: opts.autorun ?? true,
  };
}

/**
 * A BullMQ Worker on the code-jobs queue. BullMQ hands a processor its AbortSignal only when the function
 * declares three parameters; the wrapper here always does, so `processor` gets it however it is written.
 */
export function createCodeWorker(processor: CodeJobProcessor, opts: CodeWorkerOptions): Worker {
  const run = (job: Job, token?: string, signal?: AbortSignal): Promise<unknown> =>
    processor(job, token, signal ?? new AbortController().signal);
  const worker = new Worker(CODE_JOBS_QUEUE, run, codeWorkerOptions(opts));
  const logger = opts.logger;
  if (logger !== undefined) worker.on('error', (err: Error) => logger.error({ err: err.message }, 'code worker error'));
  return worker;
}
