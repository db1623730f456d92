import type { Cluster, Redis } from 'ioredis';
import type { JobState, JobStatus } from '@tinyb/contracts';
import { silentLogger, type ActiveJobSlots, type JobDirectory, type JobListPage, type JobListQuery, type Logger } from '@tinyb/core';
import { decodeStatus } from './job-event-codec.js';
import { jobEventKeys, jobIndexKeys } from './job-event-keys.js';
import { decodeCursor, encodeCursor, jobIdOfEntry } from './job-index-entry.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const TERMINAL_STATES: ReadonlySet<unknown> = new Set<JobState>(['succeeded', 'failed', 'cancelled']);

export interface RedisJobDirectoryDeps {
  /** A normal connection (or a Cluster); the caller owns it. */
  redis: Redis | Cluster;
  /** Must be the prefix of the RedisJobEvents that writes the jobs' events. Default `tinyb`. */
  keyPrefix?: string;
  /** Index entries one listing reads at most before it answers with what it found (and a cursor). Default 1000. */
  scanBudget?: number;
  /**
   * A slot claimed this long ago whose job has no status (its job.queued never came: the API died in
   * between) or whose job has ended is given back when the tenant next claims one. Default 60 s.
   */
  claimGraceMs?: number;
  /** Expiry of a tenant's active set, pushed forward on each claim. Default 7 days (the events' activeTtlMs). */
  activeTtlMs?: number;
  logger?: Logger;
  now?: () => Date;
}

/**
 * Finds jobs by owner, over the indexes RedisJobEvents writes with each `job.queued` (see
 * job-index-writes), and keeps each tenant's count of active jobs. A job whose status has expired is
 * skipped and its index entry removed when a listing meets it.
 */
export class RedisJobDirectory implements JobDirectory, ActiveJobSlots {
  private readonly redis: Redis | Cluster;
  private readonly prefix: string;
  private readonly scanBudget: number;
  private readonly claimGraceMs: number;
  private readonly activeTtlMs: number;
  private readonly logger: Logger;
  private readonly now: () => Date;

  constructor(deps: RedisJobDirectoryDeps) {
    this.redis = deps.redis;
    this.prefix = deps.keyPrefix ?? 'tinyb';
    this.scanBudget = deps.scanBudget ?? 1_000;
    this.claimGraceMs = deps.claimGraceMs ?? 60_000;
    this.activeTtlMs = deps.activeTtlMs ?? 7 * DAY_MS;
    this.logger = deps.logger ?? silentLogger;
    this.now = deps.now ?? (() => new Date());
  }

  async listJobs(query: JobListQuery): Promise<JobListPage> {
    const key = query.tenant === undefined ? jobIndexKeys.all(this.prefix) : jobIndexKeys.tenant(this.prefix, query.tenant);
    let upper = query.cursor === undefined ? '+' : `(${decodeCursor(query.cursor)}`;
    // One more than asked for: finding it is how we know a next page exists.
    const wanted = query.limit + 1;
    const batch = Math.min(Math.max(wanted, 20), 200);
    const found: { entry: string; status: JobStatus }[] = [];
    const stale: string[] = [];
    let scanned = 0;
    let lastScanned: string | undefined;
    let exhausted = false;
    while (found.length < wanted && scanned < this.scanBudget) {
      const entries = await this.redis.zrevrangebylex(key, upper, '-', 'LIMIT', 0, Math.min(batch, this.scanBudget - scanned));
      if (entries.length === 0) {
        exhausted = true;
        break;
      }
      const statuses = await this.readStatuses(entries.map(jobIdOfEntry));
      for (const [i, entry] of entries.entries()) {
        scanned += 1;
        lastScanned = entry;
        const status = statuses[i];
        if (status === null) stale.push(entry);
        if (status === null || status === undefined) continue;
        if (matches(status, query)) found.push({ entry, status });
        if (found.length === wanted) break;
      }
      upper = `(${lastScanned}`;
    }
    if (stale.length > 0) await this.redis.zrem(key, ...stale);
    const jobs = found.slice(0, query.limit).map((f) => f.status);
    let nextCursor: string | null = null;
    if (found.length > query.limit) nextCursor = encodeCursor(found[query.limit - 1]!.entry);
    // Out of budget before the page filled: the client goes on from where we stopped.
    else if (!exhausted && lastScanned !== undefined && scanned >= this.scanBudget) nextCursor = encodeCursor(lastScanned);
    return { jobs, nextCursor };
  }

  async claimActiveSlot(tenant: string, jobId: string, max: number): Promise<boolean> {
    const key = jobIndexKeys.active(this.prefix, tenant);
    await this.releaseSettledSlots(key);
    // Claim, then count, in one transaction: of claims racing for the last slot, only those counted
    // within the limit keep theirs.
    const results = await this.redis.multi().zadd(key, 'NX', String(this.now().getTime()), jobId).zcard(key).pexpire(key, this.activeTtlMs).exec();
    const added = results?.[0]?.[1] === 1;
    const count = Number(results?.[1]?.[1] ?? Number.POSITIVE_INFINITY);
    if (count <= max) return true;
    if (added) await this.redis.zrem(key, jobId);
    return false;
  }

  async releaseActiveSlot(tenant: string, jobId: string): Promise<void> {
    await this.redis.zrem(jobIndexKeys.active(this.prefix, tenant), jobId);
  }

  /** The tenant's active job ids (for tests and diagnostics). */
  async activeJobIds(tenant: string): Promise<string[]> {
    return this.redis.zrange(jobIndexKeys.active(this.prefix, tenant), '0', '-1');
  }

  /**
   * Frees slots whose job is gone (status expired, or never queued) or already over. Terminal events free
   * their slot themselves; this only mends what a crash between two writes could leave behind.
   */
  private async releaseSettledSlots(key: string): Promise<void> {
    const old = await this.redis.zrangebyscore(key, '-inf', this.now().getTime() - this.claimGraceMs);
    if (old.length === 0) return;
    const states = await eachSettled(old.map((jobId) => this.redis.hget(jobEventKeys(this.prefix, jobId).status, 'state')));
    const settled = old.filter((_, i) => {
      const raw = states[i]?.[1];
      if (typeof raw !== 'string') return true;
      return TERMINAL_STATES.has(safeJson(raw));
    });
    if (settled.length > 0) await this.redis.zrem(key, ...settled);
  }

  /**
   * Statuses in order: null for a job whose status is gone, undefined for one that does not parse (logged
   * and skipped: one corrupt job must not break every listing).
   */
  private async readStatuses(jobIds: string[]): Promise<(JobStatus | null | undefined)[]> {
    const replies = await eachSettled(jobIds.map((jobId) => this.redis.hgetall(jobEventKeys(this.prefix, jobId).status)));
    return jobIds.map((jobId, i) => {
      const [err, fields] = replies[i] ?? [new Error('no reply'), undefined];
      if (err) throw err;
      try {
        return decodeStatus(jobId, (fields ?? {}) as Record<string, string>);
      } catch (cause) {
        this.logger.warn({ jobId, err: cause instanceof Error ? cause.message : String(cause) }, 'skipping unreadable job status in listing');
        return undefined;
      }
    });
  }
}

function matches(status: JobStatus, query: { tenant?: string; state?: JobState }): boolean {
  if (query.tenant !== undefined && status.tenant !== query.tenant) return false;
  return query.state === undefined || status.state === query.state;
}

/**
 * Replies to commands sent together, each as `[error, value]` like a pipeline's. Not a pipeline: on a Redis
 * Cluster the jobs' keys hash to different slots (each job is its own hash tag), which one ioredis Cluster
 * pipeline refuses; ioredis still writes commands issued in one tick back to back.
 */
function eachSettled<T>(replies: Promise<T>[]): Promise<[Error | null, T | undefined][]> {
  return Promise.all(
    replies.map((reply) =>
      reply.then(
        (value): [null, T] => [null, value],
        (err: unknown): [Error, undefined] => [err instanceof Error ? err : new Error(String(err)), undefined],
      ),
    ),
  );
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
