import { isTerminalEvent, type JobStatus, type NewJobEvent } from '@tinyb/contracts';
import type { JobEventPublisher, JobEventSubscriber, JobStatusReader, StoredJobEvent } from '@tinyb/core';
import { decodeStatus, stampEvent, statusFieldsFor } from './job-event-codec.js';
import { compareStreamIds, parseStreamId } from './stream-id.js';
import { Wakeup } from './wakeup.js';

/**
 * The Redis implementation's twin for unit tests of the pipeline and the API: same ids (`<ms>-<seq>`,
 * increasing), same validation, same status folding, same follow semantics. It keeps everything forever
 * (no MAXLEN, no expiry) and, having no notifications to lose, needs no safety re-read.
 */
export class InMemoryJobEvents implements JobEventPublisher, JobEventSubscriber, JobStatusReader {
  private readonly logs = new Map<string, StoredJobEvent[]>();
  private readonly statuses = new Map<string, Record<string, string>>();
  private readonly followers = new Map<string, Set<Wakeup>>();
  private readonly closed = new AbortController();
  private readonly now: () => Date;
  private lastMs = 0;
  private seq = 0;

  constructor(opts: { now?: () => Date } = {}) {
    this.now = opts.now ?? (() => new Date());
  }

  async publish(jobId: string, input: NewJobEvent): Promise<string> {
    const now = this.now();
    const event = stampEvent(jobId, input, now);
    const id = this.nextId(now.getTime());
    const log = this.logs.get(jobId) ?? [];
    log.push({ id, event });
    this.logs.set(jobId, log);
    this.statuses.set(jobId, { ...this.statuses.get(jobId), ...statusFieldsFor(event) });
    for (const wakeup of this.followers.get(jobId) ?? []) wakeup.notify();
    return id;
  }

  subscribe(jobId: string, opts: { afterId?: string; signal: AbortSignal }): AsyncIterable<StoredJobEvent> {
    if (opts.afterId !== undefined) parseStreamId(opts.afterId);
    return this.follow(jobId, opts.afterId, opts.signal);
  }

  async getStatus(jobId: string): Promise<JobStatus | null> {
    return decodeStatus(jobId, this.statuses.get(jobId) ?? {});
  }

  /** Ends every live follower. */
  async close(): Promise<void> {
    this.closed.abort();
  }

  /** Everything published for a job so far, for assertions. */
  history(jobId: string): StoredJobEvent[] {
    return [...(this.logs.get(jobId) ?? [])];
  }

  private async *follow(jobId: string, afterId: string | undefined, signal: AbortSignal): AsyncGenerator<StoredJobEvent> {
    const stops = [signal, this.closed.signal];
    const stopped = (): boolean => signal.aborted || this.closed.signal.aborted;
    if (stopped()) return;
    const wakeup = new Wakeup();
    const followers = this.followers.get(jobId) ?? new Set();
    followers.add(wakeup);
    this.followers.set(jobId, followers);
    try {
      let last = afterId;
      for (;;) {
        const log = this.logs.get(jobId) ?? [];
        const pending = last === undefined ? log.slice() : log.filter((e) => compareStreamIds(e.id, last ?? '0-0') > 0);
        for (const stored of pending) {
          last = stored.id;
          yield stored;
          if (isTerminalEvent(stored.event) || stopped()) return;
        }
        if (stopped()) return;
        await wakeup.wait(undefined, stops);
      }
    } finally {
      followers.delete(wakeup);
      if (followers.size === 0) this.followers.delete(jobId);
    }
  }

  private nextId(ms: number): string {
    if (ms > this.lastMs) {
      this.lastMs = ms;
      this.seq = 0;
    } else {
      this.seq += 1;
    }
    return `${this.lastMs}-${this.seq}`;
  }
}
