import { isTerminalEvent, type JobStatus, type NewJobEvent } from '@tinyb/contracts';
import type {
  ActiveJobSlots,
  JobDirectory,
  JobEventPublisher,
  JobEventSubscriber,
  JobListPage,
  JobListQuery,
  JobStatusReader,
  StoredJobEvent,
} from '@tinyb/core';
import { decodeStatus, stampEvent, statusFieldsFor } from './job-event-codec.js';
import { decodeCursor, encodeCursor, indexEntry } from './job-index-entry.js';
import { compareStreamIds, parseStreamId } from './stream-id.js';
import { Wakeup } from './wakeup.js';

/**
 * The Redis implementation's twin for unit tests of the pipeline and the API: same ids (`<ms>-<seq>`,
 * increasing), same validation, same status folding, same follow semantics. It keeps everything forever
 * (no MAXLEN, no expiry) and, having no notifications to lose, needs no safety re-read.
 */
export class InMemoryJobEvents implements JobEventPublisher, JobEventSubscriber, JobStatusReader, JobDirectory, ActiveJobSlots {
  private readonly logs = new Map<string, StoredJobEvent[]>();
  /** Index entry (job-index-entry) → job id and owner, as RedisJobEvents indexes `job.queued`. */
  private readonly index = new Map<string, { jobId: string; tenant: string | undefined }>();
  /** Tenant → its queued or running job ids. */
  private readonly active = new Map<string, Set<string>>();
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
    const owner = isTerminalEvent(event) ? (await this.getStatus(jobId))?.tenant ?? undefined : undefined;
    this.statuses.set(jobId, { ...this.statuses.get(jobId), ...statusFieldsFor(event) });
    if (event.type === 'job.queued') {
      this.index.set(indexEntry(Date.parse(event.at), jobId), { jobId, tenant: event.tenant });
      if (event.tenant !== undefined) this.activeOf(event.tenant).add(jobId);
    } else if (owner !== undefined) {
      this.activeOf(owner).delete(jobId);
    }
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

  async listJobs(query: JobListQuery): Promise<JobListPage> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const found: { entry: string; status: JobStatus }[] = [];
    // Byte order of the entries, newest first, as Redis orders them.
    const entries = [...this.index.keys()].sort().reverse();
    for (const entry of entries) {
      if (found.length > query.limit) break;
      if (after !== undefined && entry >= after) continue;
      const { jobId, tenant } = this.index.get(entry)!;
      if (query.tenant !== undefined && tenant !== query.tenant) continue;
      const status = await this.getStatus(jobId);
      if (status === null || (query.state !== undefined && status.state !== query.state)) continue;
      found.push({ entry, status });
    }
    const nextCursor = found.length > query.limit ? encodeCursor(found[query.limit - 1]!.entry) : null;
    return { jobs: found.slice(0, query.limit).map((f) => f.status), nextCursor };
  }

  async claimActiveSlot(tenant: string, jobId: string, max: number): Promise<boolean> {
    const active = this.activeOf(tenant);
    if (active.has(jobId)) return active.size <= max;
    if (active.size >= max) return false;
    active.add(jobId);
    return true;
  }

  async releaseActiveSlot(tenant: string, jobId: string): Promise<void> {
    this.activeOf(tenant).delete(jobId);
  }

  /** The tenant's active job ids (for tests). */
  async activeJobIds(tenant: string): Promise<string[]> {
    return [...this.activeOf(tenant)];
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

  private activeOf(tenant: string): Set<string> {
    let set = this.active.get(tenant);
    if (set === undefined) {
      set = new Set();
      this.active.set(tenant, set);
    }
    return set;
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
